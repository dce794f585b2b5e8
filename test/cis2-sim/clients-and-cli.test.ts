// The CIS2 simulator's clients file (errors name the entry and field, never a secret), the explicit-port
// issuer switch, and the `rxsign cis2-sim` command.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CIS2_BASE_PATH, issuerFor } from '../../src/cis2-sim/app.js';
import { runCis2Sim } from '../../src/cli/cis2-sim.js';
import { main } from '../../src/cli/main.js';
import { parseClients } from '../../src/cis2-sim/clients.js';
import { startCis2Sim } from '../../src/cis2-sim/server.js';
import { loadTrustDir, loadUsersFile } from '../../src/spine-sim/index.js';
import { pkiPaths } from '../helpers/softhsm.js';

const dir = mkdtempSync(join(tmpdir(), 'rxsign-cis2-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = {
  client_id: 'app.apps.supplier',
  redirect_uris: ['http://127.0.0.1:3000/cb'],
  client_secret: 'a-secret-long-enough-1234',
};

function errorOf(json: unknown): string {
  try {
    parseClients(json);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('ERR_CIS2_SIM_CLIENTS_INVALID');
    // The message is the table's; what varies (entry, field, rule) travels in detail.field.
    expect((err as Error).message).toBe('the clients file does not match the schema');
    return String((err as { detail?: { field?: unknown } }).detail?.field);
  }
  throw new Error('expected a validation error');
}

describe('clients file', () => {
  test('a valid secret client and a private_key_jwt client', () => {
    const clients = parseClients([
      good,
      {
        client_id: 'b',
        redirect_uris: ['https://b.example/cb'],
        backchannel_logout_uri: 'https://b.example/bc',
        jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'k1' }] },
      },
    ]);
    expect(clients[0]).toMatchObject({ token_endpoint_auth_method: 'client_secret_basic' });
    expect(clients[1]).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      backchannel_logout_session_required: true,
      response_types: ['code'],
      grant_types: ['authorization_code'],
    });
  });

  test.each([
    [
      [good, { ...good, client_id: 'x', redirect_uris: ['ftp://x/cb'] }],
      /entry \[1\] \(x\) redirect_uris\[0\]: must be an absolute http/,
    ],
    [
      [{ ...good, client_id: 'y', client_secret: undefined }],
      /entry \[0\] \(y\) jwks\/client_secret: give exactly one/,
    ],
    [[good, good], /entry \[1\] \(app\.apps\.supplier\) client_id: duplicate/],
    [
      [{ ...good, colour: 'red' }],
      /entry \[0\] \(app\.apps\.supplier\) \(entry\): unknown field colour/,
    ],
    [
      [{ ...good, client_secret: 'sEcReT1' }],
      /entry \[0\] \(app\.apps\.supplier\) client_secret: /,
    ],
    [
      [{ ...good, backchannel_logout_uri: 'http://x/#frag' }],
      /backchannel_logout_uri: must be an absolute/,
    ],
    [{ not: 'an array' }, /JSON array of clients/],
  ])('%# names the entry and the field', (json, re) => {
    const message = errorOf(json);
    expect(message).toMatch(re);
    expect(message).not.toContain('sEcReT1'); // a secret value never appears
    expect(message).not.toContain(good.client_secret);
  });
});

describe('issuer', () => {
  test('the CIS2 path, and the explicit-port form', () => {
    expect(issuerFor('http://127.0.0.1:8732')).toBe(`http://127.0.0.1:8732${CIS2_BASE_PATH}`);
    expect(issuerFor('https://cis2.example')).toBe(`https://cis2.example${CIS2_BASE_PATH}`);
    expect(issuerFor('https://cis2.example', true)).toBe(
      `https://cis2.example:443${CIS2_BASE_PATH}`,
    );
  });

  test('--explicit-port-issuer: discovery carries the issuer with :443 exactly', async () => {
    const sim = await startCis2Sim({
      users: loadUsersFile(pkiPaths().users),
      trust: loadTrustDir(pkiPaths().trustDir),
      clients: parseClients([good]),
      publicUrl: 'https://cis2.example',
      explicitPortIssuer: true,
      cardPollMs: 0,
    });
    try {
      const d = (await (
        await fetch(`${sim.url}${CIS2_BASE_PATH}/.well-known/openid-configuration`)
      ).json()) as { issuer: string };
      expect(d.issuer).toBe(`https://cis2.example:443${CIS2_BASE_PATH}`);
    } finally {
      await sim.close();
    }
  });
});

describe('rxsign cis2-sim', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
  }

  test('--help', async () => {
    const c = io();
    expect(await runCis2Sim(['--help'], c.io)).toBe(0);
    expect(c.out.join('')).toContain('Usage: rxsign cis2-sim');
    expect(c.out.join('')).toContain('--explicit-port-issuer');
  });

  test('rxsign cis2-sim writes through the CLI Io, like every other command', async () => {
    const c = io();
    expect(await main(['cis2-sim', '--help'], c.io)).toBe(0);
    expect(c.out.join('')).toContain('Usage: rxsign cis2-sim');
    expect(await main(['cis2-sim', '--bogus'], c.io)).toBe(2);
    expect(c.err).toEqual(['rxsign cis2-sim: bad arguments (see --help)']);
  });

  test('a bad clients file: exit 2, one line naming the entry', async () => {
    const clients = join(dir, 'clients.json');
    writeFileSync(clients, JSON.stringify([{ ...good, redirect_uris: [] }]));
    const c = io();
    const args = [
      '--users',
      pkiPaths().users,
      '--trust',
      pkiPaths().trustDir,
      '--clients',
      clients,
    ];
    expect(await runCis2Sim([...args, '--port', '0'], c.io)).toBe(2);
    expect(c.err.join('')).toMatch(
      /^rxsign cis2-sim: .*entry \[0\] \(app\.apps\.supplier\) redirect_uris/,
    );
    expect(await runCis2Sim(['--users', pkiPaths().users], io().io)).toBe(2);
  });

  test('starts, prints the issuer, stops on abort', async () => {
    const clients = join(dir, 'ok.json');
    writeFileSync(clients, JSON.stringify([good]));
    const ac = new AbortController();
    const c = io();
    const run = runCis2Sim(
      [
        '--users',
        pkiPaths().users,
        '--trust',
        pkiPaths().trustDir,
        '--clients',
        clients,
        '--port',
        '0',
      ],
      c.io,
      ac.signal,
    );
    for (let i = 0; i < 100 && !c.out.join('').includes('issuer'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(c.out.join('')).toMatch(
      /issuer: http:\/\/127\.0\.0\.1:\d+\/openam\/oauth2\/realms\/root\/realms\/NHSIdentity\/realms\/Healthcare/,
    );
    ac.abort();
    expect(await run).toBe(0);
  });
});
