// The Ticket API over the agent's local HTTP service, and the CLI commands that talk to it.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { agentEnv, asCli } from '../../helpers/agent-env.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from './helpers.js';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'rxsign.js');

describe('Ticket API (docs/protocol/cis-login.md §4) over HTTP', () => {
  let sim: RunningSpineSim;
  let server: RunningAgent;
  const log = captureLogger();
  const card = testCard('multi-role');

  beforeAll(async () => {
    sim = await startSim();
    const config = {
      ...loadConfig({
        RXSIGN_MODULE: softhsmModule(),
        RXSIGN_TOKEN: 'multi-role',
        RXSIGN_SSB_URL: sim.url,
        ...agentEnv(),
        RXSIGN_POLL_MS: '200',
      }),
    };
    server = await startAgent({ config, logger: log.logger, listenPort: 0 });
  });
  afterAll(async () => {
    await server.close();
    await sim.close();
  });

  test('getTicketNoAuth with no session: TICKET_NOT_AVAILABLE with the Ticket API code', async () => {
    const res = await asCli(server).post('/ticket-api/getTicketNoAuth').send({});
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual({
      type: '/errors#ERR_TICKET_NOT_AVAILABLE',
      title: 'no ticket is available: no one is logged in',
      status: 404,
      detail: expect.stringContaining('log in') as string,
      code: 'ERR_TICKET_NOT_AVAILABLE',
      ticketApi: { name: 'TICKET_NOT_AVAILABLE', value: '0x80100009' },
    });
  });

  test('getTicket waits for the login and role selection, then returns the ticket', async () => {
    const waiting = asCli(server).post('/ticket-api/getTicket').send({ timeoutMs: 10_000 });
    const pending = waiting.then((r) => r);
    const login = await asCli(server).post('/api/v1/login').send({ pin: card.pin });
    expect(login.status).toBe(200);
    expect(login.body.state).toBe('role-required');
    const role = await asCli(server).post('/api/v1/role').send({ roleId: '555000000203' });
    expect(role.body).toMatchObject({ state: 'active', selectedRole: { id: '555000000203' } });
    const got = await pending;
    expect(got.status).toBe(200);
    expect(got.body.ticket).toMatch(/^AQIC5wM2LY4S/);
    const status = await asCli(server).get('/ticket-api/status');
    expect(status.body).toMatchObject({
      uid: card.uid,
      name: 'Multi Role',
      selectedRole: { id: '555000000203' },
    });
    expect(status.body.roles).toHaveLength(3);
    expect(status.body.timeLeftSeconds).toBeGreaterThan(0);
  });

  test('the CLI: rxsign ticket prints the ticket; rxsign logout destroys it', async () => {
    const env = {
      ...process.env,
      RXSIGN_PORT: new URL(server.url).port,
      RXSIGN_RUNTIME_DIR: server.runtimeDir,
    };
    const t = await run(process.execPath, [cli, 'ticket', '--no-auth'], { env });
    expect(t.stdout.trim()).toMatch(/^AQIC5wM2LY4S/);
    const s = await run(process.execPath, [cli, 'status', '--json'], { env });
    expect(JSON.parse(s.stdout)).toMatchObject({ state: 'active' });
    await run(process.execPath, [cli, 'logout'], { env });
    const after = await run(process.execPath, [cli, 'ticket', '--no-auth'], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(after).toMatchObject({ code: 1 });
    expect((after as { stderr: string }).stderr).toContain('TICKET_NOT_AVAILABLE 0x80100009');
  });

  test('rxsign login takes the PIN from RXSIGN_PIN and a role from --role', async () => {
    const env = {
      ...process.env,
      RXSIGN_PORT: new URL(server.url).port,
      RXSIGN_RUNTIME_DIR: server.runtimeDir,
      RXSIGN_PIN: card.pin,
    };
    const out = await run(process.execPath, [cli, 'login', '--role', '555000000201'], { env });
    expect(out.stdout).toContain('* role 555000000201');
    await asCli(server).post('/ticket-api/destroyTicket').send({});
  });

  test('bad input is a 4xx with a stable code, never a 500', async () => {
    expect((await asCli(server).post('/api/v1/login').send({ pin: 1234 })).body.code).toBe(
      'ERR_BAD_REQUEST',
    );
    expect(
      (
        await asCli(server)
          .post('/api/v1/login')
          .set('content-type', 'application/json')
          .send('{"pin":')
      ).body.code,
    ).toBe('ERR_BAD_REQUEST');
    expect(
      (await asCli(server).post('/api/v1/role').send({ roleId: '1', extra: true })).status,
    ).toBe(400);
    const big = await asCli(server)
      .post('/api/v1/login')
      .send({ pin: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('ERR_BODY_TOO_LARGE');
    expect((await asCli(server).get('/nope')).status).toBe(404);
  });

  test('a foreign Host (DNS rebinding) or Origin is refused', async () => {
    const host = await asCli(server).get('/ticket-api/status').set('host', 'evil.example:8730');
    expect(host.body.code).toBe('ERR_FORBIDDEN_HOST');
    const origin = await asCli(server)
      .post('/ticket-api/getTicketNoAuth')
      .set('origin', 'https://evil.example')
      .send({});
    expect(origin.body.code).toBe('ERR_FORBIDDEN_ORIGIN');
  });

  test('no PIN and no ticket in the agent log', async () => {
    const all = log.lines.join('');
    expect(all).toContain('logged in');
    expect(all).not.toContain(card.pin);
    expect(all).not.toMatch(/AQIC5wM2LY4S/);
  });
});

describe('rxsign tokens (CLI)', () => {
  test('--json lists the demo card with its certificates; a missing module is one line', async () => {
    const out = await run(
      process.execPath,
      [cli, 'tokens', '--json', '--module', softhsmModule()],
      { env: process.env },
    );
    const parsed = JSON.parse(out.stdout) as {
      slots: {
        token?: { label: string; certificates: { purpose: string; keyUsage: string[] }[] };
      }[];
    };
    const prescriber = parsed.slots.find((s) => s.token?.label === 'prescriber')?.token;
    expect(prescriber?.certificates.map((c) => c.purpose).sort()).toEqual([
      'authentication',
      'non-repudiation',
    ]);
    const bad = await run(process.execPath, [
      cli,
      'tokens',
      '--module',
      join('/nonexistent', 'lib.so'),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
  });
});
