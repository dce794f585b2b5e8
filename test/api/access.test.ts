// The access rules and the approvals module on their own (docs/security.md "Who may call"): the peer guard
// with a socket address that is not loopback, the key table, the listen addresses, and the approvals'
// timeout, limit, withdrawal and file.
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from 'express';
import pino from 'pino';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { accessGuard, matchKey } from '../../src/api/access.js';
import { createApp } from '../../src/api/app.js';
import { documented } from '../../src/api/route-table.js';
import { Approvals } from '../../src/api/approvals.js';
import { isLoopbackAddress, listenAddresses } from '../../src/net.js';
import { TEST_KEY, testAccess } from '../helpers/api-key.js';

/** Runs the guard on a fake request from `remoteAddress`; returns the error code it passed on, if any. */
function guard(
  remoteAddress: string | undefined,
  headers: Record<string, string>,
): string | undefined {
  let passed: unknown = 'not called';
  const headersOut: Record<string, string> = {};
  const req = {
    method: 'GET',
    path: '/ticket-api/status',
    headers,
    socket: { remoteAddress },
  };
  const res = {
    locals: {},
    setHeader: (k: string, v: string) => (headersOut[k] = v),
  };
  accessGuard(testAccess())(req as never, res as never, (err?: unknown) => (passed = err));
  return (passed as { code?: string } | undefined)?.code;
}

describe('the access guard', () => {
  const ok = { host: '127.0.0.1:8730', authorization: `Bearer ${TEST_KEY}` };

  test('a peer that is not loopback is refused whatever Host and key it sends', () => {
    for (const peer of ['192.0.2.7', '::ffff:192.0.2.7', 'fd00::2', '10.0.0.1', undefined]) {
      expect(guard(peer, ok), String(peer)).toBe('ERR_FORBIDDEN_PEER');
    }
    for (const peer of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      expect(guard(peer, ok), peer).toBeUndefined();
    }
  });

  test('no key, a wrong key or a malformed header → ERR_UNAUTHORIZED', () => {
    for (const authorization of [
      undefined,
      '',
      'Bearer',
      `Basic ${TEST_KEY}`,
      `Bearer ${TEST_KEY}x`,
      `Bearer ${TEST_KEY.slice(1)}`,
      `bearer ${TEST_KEY} `,
    ]) {
      const h: Record<string, string> = { host: '127.0.0.1:8730' };
      if (authorization !== undefined) {
        h.authorization = authorization;
      }
      expect(guard('127.0.0.1', h), String(authorization)).toBe('ERR_UNAUTHORIZED');
    }
  });

  test('matchKey finds the key by name and only an exact match', () => {
    const keys = new Map([
      ['cli', 'a'.repeat(43)],
      ['pharmacy', 'b'.repeat(43)],
    ]);
    expect(matchKey(keys, 'a'.repeat(43))).toBe('cli');
    expect(matchKey(keys, 'b'.repeat(43))).toBe('pharmacy');
    expect(matchKey(keys, 'a'.repeat(42))).toBeUndefined();
    expect(matchKey(keys, '')).toBeUndefined();
  });

  test('the static page needs no key; every other route does (createApp)', async () => {
    const r = Router();
    r.get('/', (_q, s) => void s.send('page'));
    r.get('/x', (_q, s) => void s.send('x'));
    const app = createApp({
      logger: pino({ level: 'silent' }),
      routers: [documented(r, [])],
      access: testAccess(),
    });
    expect((await request(app).get('/')).status).toBe(200);
    const x = await request(app).get('/x');
    expect(x.status).toBe(401);
    expect(x.headers['www-authenticate']).toBe('Bearer realm="rxsign"');
    expect(x.body.code).toBe('ERR_UNAUTHORIZED');
  });
});

describe('listen addresses', () => {
  test('loopback names bind both 127.0.0.1 and ::1; others need the unsafe switch', () => {
    for (const h of ['127.0.0.1', '::1', 'localhost', '[::1]']) {
      expect(listenAddresses(h, false)).toEqual(['127.0.0.1', '::1']);
    }
    expect(() => listenAddresses('0.0.0.0', false)).toThrow(
      expect.objectContaining({ code: 'ERR_LISTEN_NOT_LOOPBACK' }),
    );
    expect(listenAddresses('0.0.0.0', true)).toEqual(['0.0.0.0']);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::ffff:128.0.0.1')).toBe(false);
    expect(isLoopbackAddress('127.0.0.1.evil')).toBe(false);
  });
});

const what = { action: 'sign', count: 3, as: 'Dr A Smith, GP' } as const;

describe('approvals', () => {
  test('the question names the origin, the count and the user; unanswered → timeout', async () => {
    const a = new Approvals({ timeoutMs: 50 });
    const seen: string[] = [];
    a.on('pending', (p: { question: string }) => seen.push(p.question));
    expect(await a.request('https://app.example', what)).toBe('timeout');
    expect(seen).toEqual(['https://app.example wants to sign 3 prescriptions as Dr A Smith, GP']);
    expect(a.list().pending).toEqual([]);
  });

  test('at most maxPending wait; more are refused at once (busy)', async () => {
    const a = new Approvals({ timeoutMs: 10_000, maxPending: 2 });
    const p1 = a.request('https://a.example', what);
    const p2 = a.request('https://b.example', what);
    expect(await a.request('https://c.example', what)).toBe('busy');
    const [x, y] = a.list().pending;
    a.answer(x?.id ?? '', 'once');
    a.answer(y?.id ?? '', 'deny');
    expect(await p1).toBe('once');
    expect(await p2).toBe('deny');
    expect(() => a.answer(x?.id ?? '', 'once')).toThrow(
      expect.objectContaining({ code: 'ERR_APPROVAL_UNKNOWN' }),
    );
  });

  test('a caller that goes away is withdrawn from the page', async () => {
    const a = new Approvals({ timeoutMs: 10_000 });
    const gone: unknown[] = [];
    a.on('answered', (e) => gone.push(e));
    const ac = new AbortController();
    const p = a.request('https://a.example', what, ac.signal);
    expect(a.list().pending).toHaveLength(1);
    ac.abort();
    expect(await p).toBe('timeout');
    expect(a.list().pending).toEqual([]);
    expect(gone).toEqual([
      expect.objectContaining({ origin: 'https://a.example', outcome: 'timeout' }),
    ]);
  });

  test('Always allow answers the other waiting questions of the origin and is written 0600; revoke forgets', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rxsign-approvals-')), 'state');
    const a = new Approvals({ stateDir: dir, timeoutMs: 10_000 });
    const p1 = a.request('https://a.example', what);
    const p2 = a.request('https://a.example', { ...what, count: 1 });
    a.answer(a.list().pending[0]?.id ?? '', 'always');
    expect(await p1).toBe('always');
    expect(await p2).toBe('always');
    const file = join(dir, 'approvals.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8')).origins[0]).toMatchObject({
      origin: 'https://a.example',
      decision: 'always',
    });
    const again = new Approvals({ stateDir: dir });
    expect(await again.request('https://a.example', what)).toBe('always');
    expect(again.revoke('https://a.example')).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).origins).toEqual([]);
  });

  test('a damaged or group-readable approvals file refuses the start with a clear code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxsign-approvals-'));
    const file = join(dir, 'approvals.json');
    writeFileSync(file, '{"version":1,"origins":[{"origin":1}]}', { mode: 0o600 });
    expect(() => new Approvals({ stateDir: dir })).toThrow(
      expect.objectContaining({ code: 'ERR_APPROVALS_FILE_INVALID' }),
    );
    writeFileSync(file, '{"version":1,"origins":[]}');
    chmodSync(file, 0o644);
    expect(() => new Approvals({ stateDir: dir })).toThrow(
      expect.objectContaining({ code: 'ERR_SECRET_FILE_UNSAFE' }),
    );
  });
});
