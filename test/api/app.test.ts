// The HTTP shell (createApp): body limits by path, express's own 4xx errors, the request log line.
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { defineRouter, route } from '../../src/api/route-table.js';
import { keyed, testAccess } from '../helpers/api-key.js';
import { createLogger } from '../../src/log.js';
import { pkcs11Error } from '../../src/pkcs11/index.js';

function echoApp(level = 'trace'): { app: ReturnType<typeof createApp>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger(
    { level },
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  const r = defineRouter([
    ...['/echo', '/big/echo'].map((path) =>
      route({
        method: 'post',
        path,
        tag: 'test',
        summary: 'echo',
        responses: { 200: { description: 'the keys' } },
        errors: [],
        handle: (req, res) => {
          res.json({ keys: Object.keys(req.body as object) });
        },
      }),
    ),
    route({
      method: 'post',
      path: '/echo/pin',
      tag: 'test',
      summary: 'a refused PIN',
      responses: {},
      errors: ['ERR_PKCS11_PIN_INCORRECT'],
      handle: () => {
        throw pkcs11Error('ERR_PKCS11_PIN_INCORRECT', { detail: { ckr: 'CKR_PIN_INCORRECT' } });
      },
    }),
  ]);
  const app = createApp({
    access: testAccess(),
    logger,
    routers: [r],
    jsonLimit: '1kb',
    jsonLimits: [{ prefix: '/big', limit: '64kb' }],
  });
  return { app, lines };
}

const body = { text: 'x'.repeat(4096) };

describe('createApp', () => {
  test('a prefix with `concurrent`: one request more than it allows is 503 ERR_LARGE_BODY_BUSY with Retry-After, before its body is read; the place comes back when an answer ends', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let handled = 0;
    const slow = defineRouter([
      route({
        method: 'post',
        path: '/heavy/slow',
        tag: 'test',
        summary: 'waits',
        responses: { 200: { description: 'done' } },
        errors: [],
        handle: async (_req, res) => {
          handled += 1;
          if (handled === 1) {
            await held;
          }
          res.json({ ok: true });
        },
      }),
    ]);
    const app = createApp({
      access: testAccess(),
      logger: createLogger({ level: 'silent' }),
      routers: [slow],
      jsonLimits: [{ prefix: '/heavy', limit: '64kb', concurrent: 1 }],
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const first = keyed(url)
        .post('/heavy/slow')
        .send({ a: 1 })
        .then((r) => r);
      await expect.poll(() => handled).toBe(1);
      const busy = await keyed(url).post('/heavy/slow').send({ a: 2 });
      expect(busy.status).toBe(503);
      expect(busy.body.code).toBe('ERR_LARGE_BODY_BUSY');
      expect(busy.headers['retry-after']).toBe('1');
      expect(handled).toBe(1); // refused before the route ran
      release();
      expect((await first).status).toBe(200);
      expect((await keyed(url).post('/heavy/slow').send({ a: 3 })).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('the larger JSON limit holds under its path prefix only, not for any path that starts with the same letters', async () => {
    const { app } = echoApp();
    expect((await keyed(app).post('/big/echo').send(body)).body).toEqual({ keys: ['text'] });
    expect((await keyed(app).post('/echo').send(body)).body.code).toBe('ERR_BODY_TOO_LARGE');
    const near = await keyed(app).post('/bigger').send(body);
    expect(near.status).toBe(413);
    expect(near.body.code).toBe('ERR_BODY_TOO_LARGE');
  });

  test('a body that does not decompress (Content-Encoding: gzip on plain JSON) is a 400, not a 500', async () => {
    const { app, lines } = echoApp();
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await keyed(app)
        .post('/echo')
        .set('content-type', 'application/json')
        .set('content-encoding', encoding)
        .send('{"pin":"12345678"}');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toEqual({
        type: '/errors#ERR_BAD_REQUEST',
        title: 'the request is not valid',
        status: 400,
        detail: expect.stringContaining('issues') as string,
        code: 'ERR_BAD_REQUEST',
      });
    }
    expect(lines.join('')).not.toContain('request failed');
  });

  test('a refused Host is logged like any request, and its answer carries the same headers', async () => {
    const { app, lines } = echoApp();
    const res = await keyed(app).post('/echo').set('host', 'evil.example').send({});
    expect(res.status).toBe(403);
    expect(res.headers['cache-control']).toBe('no-store');
    const logged = lines.map(
      (l) => JSON.parse(l) as { msg: string; status?: number; path?: string },
    );
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: 'request', path: '/echo', status: 403 }),
    );
  });

  test('a 4xx log line carries the code; its detail is logged at debug level only', async () => {
    type Line = { msg: string; status?: number; code?: string; detail?: { ckr?: string } };
    for (const level of ['debug', 'info']) {
      const { app, lines } = echoApp(level);
      const res = await keyed(app).post('/echo/pin').send({});
      expect(res.status).toBe(401);
      const logged = lines.map((l) => JSON.parse(l) as Line);
      expect(logged).toContainEqual(
        expect.objectContaining({ msg: 'request', status: 401, code: 'ERR_PKCS11_PIN_INCORRECT' }),
      );
      const refused = logged.find((l) => l.msg === 'request refused');
      if (level === 'debug') {
        expect(refused).toMatchObject({
          code: 'ERR_PKCS11_PIN_INCORRECT',
          detail: { ckr: 'CKR_PIN_INCORRECT' },
        });
      } else {
        expect(refused).toBeUndefined();
      }
    }
  });
});
