/**
 * Who may call the agent (docs/security.md "Who may call"). Every request passes these checks, in order:
 * 1. the peer: the TCP peer address must be loopback, whatever the Host says (ERR_FORBIDDEN_PEER);
 * 2. the Host header must name 127.0.0.1, [::1] or localhost (DNS-rebinding defence, ERR_FORBIDDEN_HOST);
 * 3. the Origin: absent (a local program, or the agent page's own GET), the agent's own origin (the page),
 *    or exactly one of `allowedOrigins` (a web page); `null` and anything else → ERR_FORBIDDEN_ORIGIN with no
 *    CORS headers. A web page's request must come from a socket of the agent's own OS user (src/peer.ts reads
 *    the owner from the kernel's socket table), since any local program can write an Origin header
 *    (ERR_FORBIDDEN_PEER). Allowlisted origins get CORS (preflight 204, `Access-Control-Allow-Origin` exact,
 *    `Vary: Origin`, Private Network Access), only on the routes web pages may use;
 * 4. the caller: a local request (no Origin, or the page's own origin) must carry `Authorization: Bearer` with
 *    one of the agent's keys — `cli` (the per-start key in the runtime folder), a named client key, or `page`
 *    (the page's session secret) — compared in constant time, else 401 ERR_UNAUTHORIZED. Only the static page
 *    assets and `/api/v1/hello` (which has its own proof) need no key;
 * 5. the route: each route says who may use it (ROUTES below). The PIN routes, logout, role and approvals are
 *    for the page and the CLI only; a web page may use the Ticket API's ticket calls and the signing routes
 *    after the user's approval (approvals.ts), and status and verification without.
 * The caller is kept in `res.locals.caller`; the audit log's `client` is its name (callerName), never a header.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { setPreflightHeaders } from '../cors.js';
import { apiRouter } from './route-table.js';
import { isLoopbackAddress } from '../net.js';
import { peerUid } from '../peer.js';
import type { ApprovalWhat, Approvals } from './approvals.js';
import { apiError } from './errors.js';

export type Caller =
  | { readonly kind: 'key'; readonly name: string }
  | { readonly kind: 'page' }
  | { readonly kind: 'web'; readonly origin: string }
  | { readonly kind: 'anonymous' };

/** Who may use a route: local key holders (named clients), the page and the CLI, web pages. */
interface RoutePolicy {
  /** Named client keys (the CLI's key `cli` may use every route). */
  readonly clients: boolean;
  /** The agent page (its session secret). */
  readonly page: boolean;
  /**
   * Web pages on an allowlisted origin: `approve` = after the user's approval (the route asks), `open` =
   * without, `unless-denied` = without asking, but not for an origin the user has denied (a route that uses
   * the card session without signing a document: the CIS2 card assertion).
   */
  readonly web: 'approve' | 'open' | 'unless-denied' | false;
}

const STATIC = new Set(['GET /', 'GET /page.js', 'GET /page.css']);

const ROUTES: Readonly<Record<string, RoutePolicy>> = {
  'POST /ticket-api/getTicket': { clients: true, page: false, web: 'approve' },
  'POST /ticket-api/getTicketNoAuth': { clients: true, page: false, web: 'approve' },
  'POST /ticket-api/getNewTicket': { clients: true, page: false, web: 'approve' },
  'POST /ticket-api/destroyTicket': { clients: true, page: true, web: false },
  'GET /ticket-api/status': { clients: true, page: true, web: 'open' },
  'GET /api/v1/status': { clients: true, page: true, web: 'open' },
  'GET /api/v1/events': { clients: true, page: true, web: false },
  'GET /api/v1/openapi.json': { clients: true, page: true, web: 'open' },
  // docs/errors.md, where every problem's `type` points: public documentation, like the OpenAPI document.
  'GET /errors': { clients: true, page: true, web: 'open' },
  'POST /api/v1/login': { clients: false, page: true, web: false },
  'POST /api/v1/logout': { clients: false, page: true, web: false },
  'POST /api/v1/role': { clients: false, page: true, web: false },
  'GET /api/v1/approvals': { clients: false, page: true, web: false },
  'POST /api/v1/approvals/answer': { clients: false, page: true, web: false },
  'POST /api/v1/approvals/revoke': { clients: false, page: true, web: false },
  // The signing history names callers and documents: the page and local key holders only.
  'GET /api/v1/audit/recent': { clients: true, page: true, web: false },
  'POST /api/v1/sign/eps': { clients: true, page: false, web: 'approve' },
  'POST /api/v1/sign/hl7': { clients: true, page: false, web: 'approve' },
  'POST /api/v1/sign/cms': { clients: true, page: false, web: 'approve' },
  'POST /api/v1/verify': { clients: true, page: true, web: 'open' },
  'POST /api/v1/verify/batch': { clients: true, page: true, web: 'open' },
  // The CIS2 card assertion is bound to the browser's Origin (docs/cis2-sign-in.md): web pages only, no approval yet;
  // the session check is also the CIS2 simulator's server-side card watcher (with a key).
  'POST /api/v1/cis2/assertion': { clients: false, page: false, web: 'unless-denied' },
  'GET /api/v1/cis2/session': { clients: true, page: false, web: 'open' },
};

/**
 * The access table's key of a request: its method and exact path, HEAD as GET (express answers a HEAD with the
 * GET route's handler, so the GET route's policy must apply). Paths match exactly because every router is
 * case-sensitive and strict (route-table.ts apiRouter): `/api/v1/login/` is not the login route.
 */
function routeKey(method: string, path: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${path}`;
}

/** The policy of a route (unknown routes: local key holders only, so that they reach the 404). */
function policyOf(method: string, path: string): RoutePolicy {
  return ROUTES[routeKey(method, path)] ?? { clients: true, page: false, web: false };
}

/** The agent's keys: name → secret. `cli` is the per-start key; `page` the page's session secret. */
export type KeyTable = ReadonlyMap<string, string>;

export interface AccessOptions {
  readonly keys: KeyTable;
  /** Exact origins web pages may call from (each still needs the user's approval where the route asks). */
  readonly allowedOrigins?: readonly string[];
  /** The user's approvals; without it, web pages are refused on `approve` routes. */
  readonly approvals?: Approvals;
  /** Whom a web page would act as, for the approval question ("Dr A Smith, Medical Practitioner"). */
  readonly describeUser?: () => string;
  /**
   * The OS user whose browser may call with an Origin (default: this process's uid); `null` turns the
   * check off (a platform without /proc/net).
   */
  readonly ownerUid?: number | null;
  /**
   * The per-signature PIN policy (docs/pin.md): a web page's signing request is then answered on the agent
   * page together with the card PIN, which the gate hands to the route (web pages never send a PIN).
   */
  readonly signPin?: boolean;
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The name of the key `presented` matches, compared in constant time against every key (no early exit). */
export function matchKey(keys: KeyTable, presented: string): string | undefined {
  const p = digest(presented);
  let found: string | undefined;
  for (const [name, key] of keys) {
    if (timingSafeEqual(p, digest(key)) && found === undefined) {
      found = name;
    }
  }
  return found;
}

/** The page's session secret, derived from the per-start key (the CLI derives the same to open the page). */
export function pageSecret(apiKey: string): string {
  return createHmac('sha256', apiKey).update('rxsign page session v1').digest('base64url');
}

/** The proofs of /api/v1/hello: HMAC(key, role ‖ challenge), one label per side so neither can be replayed. */
export function helloProof(apiKey: string, side: 'client' | 'agent', challenge: string): string {
  return createHmac('sha256', apiKey)
    .update(`rxsign hello v1 ${side} ${challenge}`)
    .digest('base64url');
}

export function callerOf(res: Response): Caller {
  return (res.locals.caller as Caller | undefined) ?? { kind: 'anonymous' };
}

/** The audit log's `client`: the authenticated key's name, `page`, or the web page's (allowlisted) origin. */
export function callerName(res: Response): string {
  const c = callerOf(res);
  return c.kind === 'key' ? c.name : c.kind === 'web' ? c.origin : c.kind;
}

/** True when the caller may hand the agent a PIN: the agent page and the CLI only. */
export function mayGivePin(res: Response): boolean {
  const c = callerOf(res);
  return c.kind === 'page' || (c.kind === 'key' && c.name === 'cli');
}

function setCors(req: Request, res: Response, origin: string): void {
  res.setHeader('access-control-allow-origin', origin);
  if (req.method === 'OPTIONS') {
    setPreflightHeaders(req.headers, res, 'content-type, authorization');
  }
}

/** An allowlisted web page from this user's socket: CORS, then only the routes web pages may use. */
function web(
  req: Request,
  res: Response,
  next: NextFunction,
  origin: string,
  approvals: Approvals | undefined,
): void {
  const method =
    req.method === 'OPTIONS'
      ? String(req.headers['access-control-request-method'] ?? '').toUpperCase()
      : req.method;
  const policy = ROUTES[routeKey(method, req.path)];
  if (!policy || policy.web === false) {
    next(apiError('ERR_ORIGIN_ROUTE_FORBIDDEN'));
    return;
  }
  setCors(req, res, origin);
  if (req.method === 'OPTIONS') {
    res.status(204).end();
    return;
  }
  if (policy.web === 'unless-denied' && approvals?.isDenied(origin) === true) {
    next(apiError('ERR_ORIGIN_DENIED')); // readable by the page: CORS is set above
    return;
  }
  res.locals.caller = { kind: 'web', origin } satisfies Caller;
  next();
}

/** The peer, Host, Origin, CORS and authentication checks (one middleware, in the order of the module doc). */
export function accessGuard(o: AccessOptions): RequestHandler {
  const allowed = new Set(o.allowedOrigins ?? []);
  const owner = o.ownerUid === undefined ? (process.getuid?.() ?? null) : o.ownerUid;
  const peers = new WeakMap<Socket, Promise<number | undefined>>();
  return (req, res, next) => {
    res.setHeader('vary', 'Origin');
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
      next(apiError('ERR_FORBIDDEN_PEER'));
      return;
    }
    const host = req.headers.host ?? '';
    if (!LOOPBACK_HOST.test(host)) {
      next(apiError('ERR_FORBIDDEN_HOST'));
      return;
    }
    const key = routeKey(req.method, req.path);
    const origin = req.headers.origin;
    const self = origin !== undefined && origin === `http://${host.toLowerCase()}`;
    if (origin !== undefined && !self) {
      if (!allowed.has(origin)) {
        next(apiError('ERR_FORBIDDEN_ORIGIN'));
        return;
      }
      // Any program can write an Origin header: a web request must also come from a socket of this OS user
      // (its owner read from the kernel's socket table, src/peer.ts), or another user on the machine could
      // pose as an approved web page.
      if (owner !== null) {
        let uid = peers.get(req.socket);
        if (uid === undefined) {
          uid = peerUid(req.socket);
          peers.set(req.socket, uid);
        }
        uid.then(
          (u) => {
            if (u !== owner) {
              next(apiError('ERR_FORBIDDEN_PEER'));
              return;
            }
            web(req, res, next, origin, o.approvals);
          },
          () => next(apiError('ERR_FORBIDDEN_PEER')),
        );
        return;
      }
      web(req, res, next, origin, o.approvals);
      return;
    }
    if (STATIC.has(key) || key === 'POST /api/v1/hello') {
      next();
      return;
    }
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(auth);
    const name = m?.[1] === undefined ? undefined : matchKey(o.keys, m[1]);
    if (name === undefined) {
      res.setHeader('www-authenticate', 'Bearer realm="rxsign"');
      next(apiError('ERR_UNAUTHORIZED'));
      return;
    }
    const caller: Caller = name === 'page' ? { kind: 'page' } : { kind: 'key', name };
    // The page's secret is accepted from the page's own origin (or a same-origin GET, which has none); a
    // key is accepted only without an Origin (a browser page cannot hold one).
    if ((caller.kind === 'page') !== self && origin !== undefined) {
      next(apiError('ERR_FORBIDDEN_ORIGIN'));
      return;
    }
    const policy = policyOf(req.method, req.path);
    const ok =
      caller.kind === 'page'
        ? policy.page
        : caller.name === 'cli' || (policy.clients && caller.name !== 'page');
    if (!ok) {
      next(apiError('ERR_CALLER_ROUTE_FORBIDDEN'));
      return;
    }
    res.locals.caller = caller;
    next();
  };
}

/**
 * The gate a ticket or signing route calls once it knows what is asked: for a web page, waits for the user's
 * approval (Allow once / Always allow) or refuses (ERR_ORIGIN_DENIED, ERR_APPROVAL_TIMEOUT, ERR_APPROVAL_BUSY);
 * for anyone else, returns at once. With the per-signature PIN policy a web page's signing request resolves
 * with the PIN the user typed with the answer on the agent page (`pin`), for the route to sign with.
 */
export type Gate = (
  res: Response,
  what: Pick<ApprovalWhat, 'action' | 'count' | 'kind'> & {
    /** What is being signed, in words: read only when the user is asked (a web caller). */
    readonly describe?: () => Pick<ApprovalWhat, 'documentIds' | 'details'>;
  },
) => Promise<{ pin?: string }>;

export function approvalGate(o: AccessOptions): Gate {
  return async (res, what) => {
    const c = callerOf(res);
    if (c.kind !== 'web') {
      return {};
    }
    if (!o.approvals) {
      throw apiError('ERR_ORIGIN_DENIED');
    }
    const abort = new AbortController();
    const onClose = (): void => abort.abort();
    res.once('close', onClose);
    try {
      const { outcome, pin } = await o.approvals.ask(
        c.origin,
        {
          action: what.action,
          count: what.count,
          ...(what.kind !== undefined ? { kind: what.kind } : {}),
          ...what.describe?.(),
          as: o.describeUser?.() ?? 'the logged-in user',
          pin: o.signPin === true && what.action === 'sign',
        },
        abort.signal,
      );
      if (outcome === 'deny') {
        throw apiError('ERR_ORIGIN_DENIED');
      }
      if (outcome === 'timeout') {
        throw apiError('ERR_APPROVAL_TIMEOUT');
      }
      if (outcome === 'busy') {
        throw apiError('ERR_APPROVAL_BUSY');
      }
      return pin !== undefined ? { pin } : {};
    } finally {
      res.off('close', onClose);
    }
  };
}

const Hello = z
  .object({
    challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 random bytes, base64url'),
    proof: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  })
  .strict();

/**
 * POST /api/v1/hello { challenge, proof } → { proof }: the CLI and the agent prove to each other that they
 * hold the per-start key before the CLI sends a PIN. The client's proof is HMAC(key, "client" ‖ challenge);
 * the agent answers HMAC(key, "agent" ‖ challenge). A squatter on the port knows neither; the key itself
 * never crosses the wire here.
 */
export function helloRouter(apiKey: string): ReturnType<typeof apiRouter> {
  const r = apiRouter();
  r.post('/api/v1/hello', (req, res) => {
    if (req.headers.origin !== undefined) {
      throw apiError('ERR_FORBIDDEN_ORIGIN');
    }
    const parsed = Hello.safeParse(req.body ?? {});
    if (!parsed.success) {
      throw apiError('ERR_BAD_REQUEST', { issues: [{ path: '(body)', message: 'not a hello' }] });
    }
    const want = Buffer.from(helloProof(apiKey, 'client', parsed.data.challenge));
    const got = Buffer.from(parsed.data.proof);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      res.setHeader('www-authenticate', 'Bearer realm="rxsign"');
      throw apiError('ERR_UNAUTHORIZED');
    }
    res.json({ proof: helloProof(apiKey, 'agent', parsed.data.challenge) });
  });
  return r;
}
