// The simulator's Host and Origin guards (the agent's rules: loopback Host only, browser origins refused unless
// configured) and its fault routes, which exist only when asked for (`--faults` / adminRoutes).
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildActivateRequest } from '../../src/auth/wire/gpobject.js';
import { startSpineSim, type RunningSpineSim } from '../../src/spine-sim/server.js';
import { CLIENT, USERS, makeLoginPki, type LoginPki } from './fixture.js';

let pki: LoginPki;
let plain: RunningSpineSim;
let withOrigin: RunningSpineSim;

beforeAll(async () => {
  pki = makeLoginPki();
  plain = await startSpineSim({ users: USERS, trust: pki.trust });
  withOrigin = await startSpineSim({
    users: USERS,
    trust: pki.trust,
    allowedOrigins: ['https://ehr.example.nhs.uk'],
  });
});
afterAll(async () => {
  await plain.close();
  await withOrigin.close();
  pki.cleanup();
});

/** A raw request with any Host header (fetch does not let a caller set Host). */
function raw(
  url: string,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: o.headers ?? {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('spine-sim Host guard', () => {
  test.each(['127.0.0.1', 'localhost', '[::1]', 'LOCALHOST'])(
    'Host %s (with the port) is served',
    async (h) => {
      const port = new URL(plain.url).port;
      const res = await raw(plain.url, {
        path: '/amserver/identity/isTokenValid?tokenid=x',
        headers: { host: `${h}:${port}` },
      });
      expect(res.status).toBe(200);
    },
  );

  test.each([
    'evil.example',
    'evil.example:4480',
    '127.0.0.1.evil.example',
    '10.0.0.5',
    '0.0.0.0',
    'localhost.',
    'localhost:abc',
  ])('Host %j is refused with 403 on every route (DNS rebinding)', async (h) => {
    for (const r of [
      { method: 'GET', path: '/amserver/identity/isTokenValid?tokenid=x' },
      { method: 'POST', path: '/login/authactivate', body: buildActivateRequest(CLIENT) },
      { method: 'GET', path: '/_sim/sessions' },
    ]) {
      const res = await raw(plain.url, { ...r, headers: { host: h } });
      expect(res.status).toBe(403);
      expect(res.text).toContain('FORBIDDEN_HOST');
    }
  });
});

describe('spine-sim Origin guard', () => {
  test.each(['https://evil.example', 'null', 'http://127.0.0.1:1', 'https://ehr.example.nhs.uk'])(
    'a browser Origin %s is refused when none is configured',
    async (origin) => {
      const res = await fetch(`${plain.url}/login/authactivate`, {
        method: 'POST',
        headers: { origin },
        body: buildActivateRequest(CLIENT),
      });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('FORBIDDEN_ORIGIN');
    },
  );

  test('a configured origin is served; any other is refused', async () => {
    const ok = await fetch(`${withOrigin.url}/login/authactivate`, {
      method: 'POST',
      headers: { origin: 'https://ehr.example.nhs.uk' },
      body: buildActivateRequest(CLIENT),
    });
    expect(ok.status).toBe(200);
    const other = await fetch(`${withOrigin.url}/login/authactivate`, {
      method: 'POST',
      headers: { origin: 'https://ehr.example.nhs.uk.evil.example' },
      body: buildActivateRequest(CLIENT),
    });
    expect(other.status).toBe(403);
  });

  test('a request without Origin (a program, the agent) is served', async () => {
    const res = await fetch(`${plain.url}/login/authactivate`, {
      method: 'POST',
      body: buildActivateRequest(CLIENT),
    });
    expect(res.status).toBe(200);
  });
});

describe('spine-sim fault routes', () => {
  test('off by default: /_sim/faults and /_sim/sessions are 404 and inject nothing', async () => {
    const inject = await fetch(`${plain.url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: '5xx', count: 5 }),
    });
    expect(inject.status).toBe(404);
    expect(plain.admin.faults()).toEqual([]);
    expect((await fetch(`${plain.url}/_sim/sessions`)).status).toBe(404);
    expect((await fetch(`${plain.url}/_sim/faults`, { method: 'DELETE' })).status).toBe(404);
    const res = await fetch(`${plain.url}/login/authactivate`, {
      method: 'POST',
      body: buildActivateRequest(CLIENT),
    });
    expect(res.status).toBe(200);
  });

  test('on with adminRoutes (--faults): a fault can be injected over HTTP', async () => {
    const sim = await startSpineSim({ users: USERS, trust: pki.trust, adminRoutes: true });
    try {
      const inject = await fetch(`${sim.url}/_sim/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: '5xx', count: 1 }),
      });
      expect(inject.status).toBe(200);
      expect(sim.admin.faults()).toHaveLength(1);
    } finally {
      await sim.close();
    }
  });
});
