// Secrets never reach the log (docs/style.md §26): tickets and challenges are absent from every line of a full login.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startSpineSim, type RunningSpineSim } from '../../src/spine-sim/server.js';
import { activate, get, login, makeLoginPki, UID, USERS, type LoginPki } from './fixture.js';

let pki: LoginPki;
let sim: RunningSpineSim;
const lines: string[] = [];

beforeAll(async () => {
  pki = makeLoginPki();
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  sim = await startSpineSim({
    users: USERS,
    trust: pki.trust,
    crls: pki.crls,
    logger: createLogger({ level: 'debug' }, sink),
  });
});
afterAll(async () => {
  await sim.close();
  pki.cleanup();
});

describe('logging', () => {
  test('a login, a refused login and a SAML fetch log events but never the ticket or the challenge', async () => {
    const { challenge } = await activate(sim.url);
    const ok = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    const ticket = ok.params.get('sso_ticket') ?? '';
    await login(sim.url, UID.unknown, pki.ids.unknown);
    await get(`${sim.url}/saml/RoleAssertion?token=${encodeURIComponent(ticket)}`);
    const log = lines.join('');
    expect(log).toContain('login accepted');
    expect(log).toContain('UNKNOWN_USER');
    expect(ticket).toMatch(/^AQIC/);
    expect(log).not.toContain(ticket);
    expect(log).not.toContain(encodeURIComponent(ticket));
    expect(log).not.toContain(challenge);
  });
});
