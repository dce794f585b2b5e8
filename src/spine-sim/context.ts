/**
 * What every simulator route shares: configuration, the session store, the fault queue, the clock.
 */
import type { Request } from 'express';
import type { Logger } from '../log.js';
import type { CardCertificateContext } from './card-certificate.js';
import type { FaultQueue } from './faults.js';
import type { SessionStore } from './sessions.js';
import type { SimUser } from './users.js';

/** The simulator's configuration and state; the certificate settings are {@link CardCertificateContext}'s. */
export interface SimContext extends CardCertificateContext {
  readonly users: ReadonlyMap<string, SimUser>;
  readonly challengeMaxAgeMs: number;
  readonly serverKey: Uint8Array;
  readonly now: () => number;
  readonly sessions: SessionStore;
  readonly faults: FaultQueue;
  readonly logger: Logger;
  readonly publicUrl: string | undefined;
}

/**
 * The base URL the simulator advertises (`reply_url`, `sso_logout_url`, …): the configured one, else the
 * request's own Host when it is a plain host[:port].
 *
 * @example
 * ```ts
 * baseUrl(ctx, req); // 'http://127.0.0.1:43123'
 * ```
 */
export function baseUrl(ctx: SimContext, req: Request): string {
  if (ctx.publicUrl !== undefined) {
    return ctx.publicUrl;
  }
  const host = req.get('host') ?? '';
  return /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/.test(host)
    ? `${req.protocol}://${host}`
    : 'http://localhost';
}

/**
 * The client's IP as the SAML `Recipient` shows it.
 *
 * @example
 * ```ts
 * clientIp(req); // '127.0.0.1'
 * ```
 */
export function clientIp(req: Request): string {
  const ip = req.socket.remoteAddress ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * The request body as UTF-8 text (empty when there is none); `undefined` when it is not valid UTF-8.
 *
 * @example
 * ```ts
 * const text = bodyText(req);
 * ```
 */
export function bodyText(req: Request): string | undefined {
  const body: unknown = req.body;
  if (!(body instanceof Uint8Array)) {
    return '';
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/**
 * A query-string or form parameter (query first), only when it is a single string.
 *
 * @example
 * ```ts
 * param(req, 'tokenid');
 * ```
 */
export function param(req: Request, name: string): string | undefined {
  const q: unknown = (req.query as Record<string, unknown>)[name];
  if (typeof q === 'string') {
    return q;
  }
  const text = bodyText(req);
  if (text === undefined || text === '' || text.length > 16_384) {
    return undefined;
  }
  return new URLSearchParams(text).get(name) ?? undefined;
}
