// All of Credential Management's ports taken (a sixth user on a terminal server, or anyone who binds them
// first): the agent still starts without the drop-in and says so in its log (docs/cm.md). Before, the agent
// refused to start at all, so another user could stop its login and Ticket API by binding five ports.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { agentEnv, asCli } from '../../helpers/agent-env.js';
import { softhsmModule } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

/** Holds a free port on [::1] (127.0.0.1 stays free: the half a squatter needs to take a port from us). */
async function holdOnV6(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ port: 0, host: '::1', exclusive: true }, () => ok());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

describe('Credential Management with every port taken', () => {
  let sim: RunningSpineSim;
  let running: RunningAgent;
  const held: Server[] = [];
  const log = captureLogger();

  beforeAll(async () => {
    sim = await startSim();
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const h = await holdOnV6();
      held.push(h.server);
      ports.push(h.port);
    }
    running = await startAgent({
      config: loadConfig({
        RXSIGN_MODULE: softhsmModule(),
        RXSIGN_TOKEN: 'prescriber',
        RXSIGN_SSB_URL: sim.url,
        RXSIGN_CM: 'on',
        RXSIGN_CM_PORTS: ports.join(','),
        RXSIGN_ALLOWED_ORIGINS: 'https://rx.example.nhs.uk',
        ...agentEnv(),
      }),
      logger: log.logger,
      listenPort: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    await sim?.close();
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  });

  test('the agent starts without the drop-in, warns with ERR_CM_NO_PORT, and its API answers', async () => {
    expect(running.cm).toBeUndefined();
    const warning = log.lines.find((l) => l.includes('ERR_CM_NO_PORT'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 40, code: 'ERR_CM_NO_PORT' });
    const status = await asCli(running).get('/api/v1/status');
    expect(status.status).toBe(200);
  });
});
