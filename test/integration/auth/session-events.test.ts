// Session events on the agent's bus (src/events.ts) through the composed agent: local caps on the broker's
// session times (configuration sessionMaxMinutes / sessionIdleMinutes) reported and honoured, expiry as
// session.ended; a card pulled mid-signature (the fault port: SoftHSM cannot be pulled) as card.removed and
// session.ended with reason card-removed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import { openTokenPort } from '../../../src/pkcs11/index.js';
import type { AgentEvent } from '../../../src/events.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { FaultPort } from '../../helpers/fault-port.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from './helpers.js';

/** The agent's configuration for the prescriber card on `sim`, with a fresh audit log and `more` settings. */
function prescriberConfig(sim: RunningSpineSim, more: Record<string, string> = {}) {
  return loadConfig({
    RXSIGN_MODULE: softhsmModule(),
    RXSIGN_TOKEN: 'prescriber',
    RXSIGN_SSB_URL: sim.url,
    RXSIGN_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'rxsign-audit-')), 'audit.log'),
    ...more,
  });
}

describe('session caps', () => {
  let sim: RunningSpineSim;
  let server: RunningAgent;
  let clock = Date.UTC(2026, 0, 1, 9, 0, 0);
  const events: AgentEvent[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const config = prescriberConfig(sim, {
      RXSIGN_SESSION_MAX_MINUTES: '5',
      RXSIGN_SESSION_IDLE_MINUTES: '2',
    });
    server = await startAgent({
      config,
      logger: captureLogger().logger,
      listenPort: 0,
      now: () => clock,
    });
    server.events.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await server?.close();
    await sim?.close();
  });

  test('the shorter local times are reported and the idle one ends the session', async () => {
    const status = await server.agent.login(testCard('prescriber').pin);
    expect(status.state).toBe('active');
    expect(status.timeLeftSeconds).toBe(300);
    expect(status.idleLeftSeconds).toBe(120);
    clock += 121_000;
    server.agent.checkExpiry();
    await new Promise((r) => setTimeout(r, 50));
    expect(server.agent.status().state).toBe('card-present');
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['session.login', 'session.ended']),
    );
    expect(events.find((e) => e.type === 'session.ended')).toMatchObject({
      reason: 'expired',
      uid: testCard('prescriber').uid,
    });
  });
});

describe('card removal', () => {
  let sim: RunningSpineSim;
  let server: RunningAgent;
  let port: FaultPort;
  const events: AgentEvent[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const config = prescriberConfig(sim);
    port = new FaultPort(await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 }));
    server = await startAgent({
      config,
      logger: captureLogger().logger,
      listenPort: 0,
      tokenPort: port,
    });
    server.events.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await server?.close();
    await sim?.close();
  });

  test('a card pulled mid-signature: card.removed, then session.ended (card-removed), no signature.made', async () => {
    const card = testCard('prescriber');
    await server.agent.login(card.pin);
    port.removeDuringSign(0, { label: 'prescriber', serial: card.serial });
    const signing = server.signing;
    expect(signing).toBeDefined();
    await expect(
      signing?.signCms(new TextEncoder().encode('doc'), {
        client: 'test',
        uid: card.uid,
        role: 'r',
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/CARD_REMOVED/) as string });
    for (let i = 0; i < 50 && !events.some((e) => e.type === 'session.ended'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const types = events.map((e) => e.type);
    expect(types).toContain('card.removed');
    expect(types.indexOf('card.removed')).toBeLessThan(types.indexOf('session.ended'));
    expect(events.find((e) => e.type === 'session.ended')).toMatchObject({
      reason: 'card-removed',
    });
    expect(types).not.toContain('signature.made');
  });
});
