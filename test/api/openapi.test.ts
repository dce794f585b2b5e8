// The OpenAPI document (src/api/openapi.ts): docs/openapi.json is current, every mounted route is in it, its
// schemas compile (JSON Schema 2020-12), and responses of the app validate against it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { apiDocument, createApp } from '../../src/api/app.js';
import { agentApiDocument, documentationRouters } from '../../src/api/routers.js';
import { defineRouter, route } from '../../src/api/route-table.js';
import { verifyRouter } from '../../src/api/routes/verify.js';
import { VERSION } from '../../src/version.js';
import { keyed, testAccess } from '../helpers/api-key.js';
import { documentedRoutes, mountedRoutes, responseChecker } from '../helpers/openapi.js';

const logger = pino({ level: 'silent' });
type Json = Record<string, unknown>;

describe('OpenAPI document', () => {
  const doc = agentApiDocument(VERSION);

  test('docs/openapi.json is the generated document (run `npm run docs:openapi` after changing a route)', () => {
    const file = readFileSync(
      resolve(import.meta.dirname, '..', '..', 'docs', 'openapi.json'),
      'utf8',
    );
    expect(JSON.parse(file)).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  test('is OpenAPI 3.1 with the agent version; every $ref resolves; every operation has an id and errors as problems', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect((doc.info as Json).version).toBe(VERSION);
    const text = JSON.stringify(doc);
    const components = (doc.components as { schemas: Json }).schemas;
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      expect(components, `$ref ${name ?? ''}`).toHaveProperty(name ?? '');
    }
    const ids = new Set<string>();
    for (const ops of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
      for (const op of Object.values(ops)) {
        expect(typeof op.operationId).toBe('string');
        ids.add(op.operationId as string);
        const responses = op.responses as Record<string, { content: Json }>;
        expect(Object.keys(responses)).toContain('500');
        for (const [status, r] of Object.entries(responses)) {
          if (Number(status) >= 400) {
            expect(Object.keys(r.content)).toEqual(['application/problem+json']);
          }
        }
      }
    }
    expect(ids.size).toBe(documentedRoutes(doc).length);
  });

  test('documents the routes of the issue: Ticket API names kept, the rest under /api/v1', () => {
    const routes = documentedRoutes(doc);
    for (const r of [
      'POST /ticket-api/getTicket',
      'POST /ticket-api/getTicketNoAuth',
      'POST /ticket-api/getNewTicket',
      'POST /ticket-api/destroyTicket',
      'GET /api/v1/status',
      'GET /api/v1/events',
      'GET /api/v1/openapi.json',
      'POST /api/v1/sign/cms',
      'POST /api/v1/verify',
    ]) {
      expect(routes).toContain(r);
    }
    for (const r of routes) {
      expect(r).toMatch(
        /^[A-Z]+ (\/|\/page\.(js|css)|\/errors|\/ticket-api\/[A-Za-z]+|\/api\/v1\/.+)$/,
      );
    }
  });

  test('an app of all routers mounts exactly the documented routes, and serves the same document', async () => {
    const app = createApp({
      logger,
      routers: documentationRouters(VERSION),
      version: VERSION,
      access: testAccess(),
    });
    expect(mountedRoutes(app)).toEqual(documentedRoutes(doc));
    const served = await keyed(app).get('/api/v1/openapi.json');
    expect(served.body).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  test('the stack walk sees a route added behind the table’s back (so the check can fail)', () => {
    const r = defineRouter([]);
    r.get('/api/v1/secret', (_req, res) => {
      res.end();
    });
    const app = createApp({ logger, routers: [r], access: testAccess() });
    expect(mountedRoutes(app)).toContain('GET /api/v1/secret');
    expect(documentedRoutes(apiDocument([r], VERSION))).not.toContain('GET /api/v1/secret');
  });

  test('responses validate: a problem, a verification report; a wrong body does not', async () => {
    const app = createApp({
      logger,
      routers: [verifyRouter({ fetchCrl: false })],
      access: testAccess(),
    });
    const check = responseChecker(apiDocument([verifyRouter({ fetchCrl: false })], VERSION));
    const bad = await keyed(app).post('/api/v1/verify/batch').send({ documents: [] });
    expect(bad.status).toBe(400);
    expect(
      check('POST', '/api/v1/verify/batch', 400, bad.headers['content-type'] as string, bad.body),
    ).toEqual([]);
    const report = await keyed(app)
      .post('/api/v1/verify')
      .set('content-type', 'application/pkcs7-mime')
      .send(Buffer.from('not cms'));
    expect(report.status).toBe(200);
    expect(report.body.indication).toBe('TOTAL_FAILED');
    expect(
      check('POST', '/api/v1/verify', 200, report.headers['content-type'] as string, report.body),
    ).toEqual([]);
    expect(
      check('POST', '/api/v1/verify', 200, 'application/json', {
        ...report.body,
        indication: 'OK',
      }),
    ).not.toEqual([]);
    expect(() => check('POST', '/api/v1/verify', 418, 'application/json', {})).toThrow();
  });

  test('a route table naming an unknown error code cannot be documented', () => {
    const r = defineRouter([
      route({
        method: 'get',
        path: '/api/v1/x',
        tag: 't',
        summary: 'x',
        responses: { 200: { description: 'x' } },
        errors: ['ERR_NO_SUCH_CODE'],
        handle: () => undefined,
      }),
    ]);
    expect(() => apiDocument([r], VERSION)).toThrow(/ERR_NO_SUCH_CODE/);
  });
});
