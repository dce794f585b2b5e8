// The Credential Management demo page's server (examples/cm-page/serve.mjs): its origin http://localhost:PORT
// is allowlisted by `rxsign demo`, and a browser may resolve localhost to ::1 or 127.0.0.1, so it holds the
// port on both, and refuses to start when another program holds either (another user could otherwise serve
// their own page under the allowlisted origin).
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

const SERVE = join(import.meta.dirname, '..', 'examples', 'cm-page', 'serve.mjs');
const run = promisify(execFile);

function hold(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const a = server.address();
      ok({ server, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
}

describe('examples/cm-page/serve.mjs', () => {
  const held: Server[] = [];
  afterAll(() => held.forEach((s) => s.close()));

  test('serves the page on 127.0.0.1 and ::1 at the same port', async () => {
    const child = spawn(process.execPath, [SERVE, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const url = await new Promise<string>((ok) =>
        child.stdout.once('data', (d: Buffer) => ok(d.toString().trim())),
      );
      const port = new URL(url).port;
      for (const host of ['127.0.0.1', '[::1]']) {
        const res = await fetch(`http://${host}:${port}/`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('<');
      }
    } finally {
      child.kill();
    }
  });

  test('a port whose ::1 side is taken: it refuses to start with a clear error (exit 2)', async () => {
    const h = await hold('::1');
    held.push(h.server);
    const err = await run(process.execPath, [SERVE, '--port', String(h.port)]).catch(
      (e: { code?: number; stderr?: string }) => e,
    );
    expect((err as { code?: number }).code).toBe(2);
    expect((err as { stderr?: string }).stderr).toMatch(/\[::1\]:\d+ is taken/);
  });
});
