/**
 * Where a PIN sent over HTTP came from (docs/pin.md): the one place the routes decide it.
 *
 * Today: a request from the agent's own origin (`Origin: http://<Host>`) is the agent's page; a request with no
 * Origin is a local program (the CLI); any other (allowlisted) origin is a web application. Replace this
 * function when callers are authenticated (the page's session secret, the CLI's key): the routes and the PIN
 * guard only see its answer.
 */
import type { Request } from 'express';
import type { PinSource } from '../pin/index.js';

export function pinSourceOf(req: Request): PinSource {
  const origin = req.headers.origin;
  if (origin === undefined) {
    return 'cli';
  }
  return origin === `http://${req.headers.host ?? ''}` ? 'page' : 'app';
}
