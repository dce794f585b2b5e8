// Private folders for one test agent: its runtime folder (api-key, open.html), state folder (approvals.json)
// and audit log, all under one fresh temporary directory — never the user's real XDG folders.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { RunningAgent } from '../../src/agent.js';

export function agentEnv(prefix = 'rxsign-agent-'): {
  RXSIGN_RUNTIME_DIR: string;
  RXSIGN_STATE_DIR: string;
  RXSIGN_AUDIT_LOG: string;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    RXSIGN_RUNTIME_DIR: join(dir, 'run', 'rxsign'),
    RXSIGN_STATE_DIR: join(dir, 'state'),
    RXSIGN_AUDIT_LOG: join(dir, 'state', 'audit.log'),
  };
}

/** supertest against the running agent with its per-start key (the CLI's identity, `cli`). */
export function asCli(running: RunningAgent): ReturnType<typeof request.agent> {
  return request.agent(running.url).set('authorization', `Bearer ${running.apiKey}`);
}
