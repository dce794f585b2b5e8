// `rxsign spine-sim` entry: one-line errors for bad input, the URL on start, a clean stop.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runSpineSim } from '../../src/spine-sim/cli.js';
import { pkiPaths } from '../helpers/softhsm.js';

const dir = mkdtempSync(join(tmpdir(), 'rxsign-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      ...(signal ? { signal } : {}),
    },
  };
}

describe('runSpineSim', () => {
  test('--help prints usage and exits 0', async () => {
    const c = io();
    expect(await runSpineSim(['--help'], c.io)).toBe(0);
    expect(c.out.join('')).toContain('Usage: rxsign spine-sim');
  });

  test('a users file with an unknown field: exit 2, one line naming the field', async () => {
    const users = join(dir, 'users.json');
    writeFileSync(users, JSON.stringify([{ uid: '1', name: 'x', roles: [], extra: 'hush' }]));
    const c = io();
    expect(
      await runSpineSim(['--users', users, '--trust', pkiPaths().trustDir, '--port', '0'], c.io),
    ).toBe(2);
    const text = c.err.join('');
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toContain('[0].extra: unknown field');
    expect(text).not.toContain('hush');
  });

  test('a missing trust folder: exit 2, one line', async () => {
    const c = io();
    expect(
      await runSpineSim(
        ['--users', pkiPaths().users, '--trust', join(dir, 'nope'), '--port', '0'],
        c.io,
      ),
    ).toBe(2);
    expect(c.err.join('')).toMatch(/^rxsign spine-sim: the trust folder cannot be read/);
  });

  test('bad arguments and a bad port: exit 2', async () => {
    expect(await runSpineSim(['--bogus'], io().io)).toBe(2);
    expect(await runSpineSim(['--port', 'x', '--users', 'a', '--trust', 'b'], io().io)).toBe(2);
    expect(await runSpineSim([], io().io)).toBe(2);
  });

  test('starts, prints the URL, serves, and stops on abort', async () => {
    const ac = new AbortController();
    const c = io(ac.signal);
    const p = pkiPaths();
    const running = runSpineSim(
      ['--users', p.users, '--trust', p.trustDir, '--crl', p.crlDir, '--port', '0'],
      c.io,
    );
    for (let i = 0; i < 100 && c.out.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(c.out.join(''))?.[1];
    expect(url).toBeDefined();
    const res = await fetch(`${url ?? ''}/amserver/identity/isTokenValid?tokenid=x`);
    expect(await res.text()).toBe('boolean=false\n');
    // No --faults: the fault routes do not exist.
    expect((await fetch(`${url ?? ''}/_sim/sessions`)).status).toBe(404);
    ac.abort();
    expect(await running).toBe(0);
  });

  test('--faults mounts the fault routes; --allow-origin lets that browser origin in', async () => {
    const ac = new AbortController();
    const c = io(ac.signal);
    const p = pkiPaths();
    const running = runSpineSim(
      [
        ...['--users', p.users, '--trust', p.trustDir, '--port', '0', '--faults'],
        ...['--allow-origin', 'https://ehr.example.nhs.uk'],
      ],
      c.io,
    );
    for (let i = 0; i < 100 && c.out.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(c.out.join(''))?.[1] ?? '';
    expect((await fetch(`${url}/_sim/sessions`)).status).toBe(200);
    const from = (origin: string) =>
      fetch(`${url}/amserver/identity/isTokenValid?tokenid=x`, { headers: { origin } });
    expect((await from('https://ehr.example.nhs.uk')).status).toBe(200);
    expect((await from('https://evil.example')).status).toBe(403);
    ac.abort();
    expect(await running).toBe(0);
  });
});
