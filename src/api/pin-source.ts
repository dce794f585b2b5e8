/**
 * Where a PIN sent over HTTP came from (docs/pin.md): the one place the routes decide it, from the caller the
 * access rules authenticated (src/api/access.ts, docs/security.md): the agent page's session secret → `page`,
 * the agent's own key → `cli`, anyone else (a named client key, an approved web page) → `app`.
 */
import type { Request } from 'express';
import type { PinSource } from '../pin/index.js';
import { callerOf } from './access.js';

export function pinSourceOf(req: Request): PinSource {
  const c = req.res ? callerOf(req.res) : undefined;
  if (c?.kind === 'page') {
    return 'page';
  }
  return c?.kind === 'key' && c.name === 'cli' ? 'cli' : 'app';
}
