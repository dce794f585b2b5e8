// Local caps on the broker's session times (configuration sessionMaxMinutes / sessionIdleMinutes): the
// session reports and honours the shorter time, and its end is an event (session.ended, reason expired).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import type { AgentEvent } from '../../../src/events.js';
import type { RunningSpineSim } from '../../../src/spine-sim/server.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from './helpers.js';

describe('session caps', () => {
  let sim: RunningSpineSim;
  let server: RunningAgent;
  let clock = Date.UTC(2026, 0, 1, 9, 0, 0);
  const events: AgentEvent[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const config = loadConfig({
      RXSIGN_MODULE: softhsmModule(),
      RXSIGN_TOKEN: 'prescriber',
      RXSIGN_SSB_URL: sim.url,
      RXSIGN_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'rxsign-audit-')), 'audit.log'),
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
