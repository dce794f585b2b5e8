/**
 * The simulator as an express app (no listening socket: see server.ts).
 *
 * Rules this file enforces:
 * - Every body is read raw (any Content-Type, §1.1) with a size limit (default 256 KiB → 413 gpOBJECT
 *   `REQUEST_TOO_LARGE`); any other body error → 400 `MALFORMED_REQUEST`; an unexpected error → 500
 *   `INTERNAL_ERROR` (logged), never a crash.
 * - Faults `5xx` and `hang` act before any route (except `/_sim/*`).
 * - The admin (fault injection) routes `/_sim/*` exist only when `adminRoutes` is on (`--faults`; default
 *   off, and the demo leaves them off): any local process could otherwise make the broker refuse or hang.
 * - The same Host and Origin guards as the agent (DNS-rebinding defence, docs/spine-sim.md "Security"):
 *   the Host header must name 127.0.0.1, [::1] or localhost; a request with an Origin header (a browser) is
 *   refused unless that exact origin is in `allowedOrigins`. Both answer 403 before any route or fault.
 * - The request log carries method, path and status only (no query: it can hold a ticket).
 */
import { randomBytes } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Response } from 'express';
import type { CrlInfo } from '../cms/crl.js';
import type { RevocationPolicy } from '../cms/path.js';
import { silentLogger, type Logger } from '../log.js';
import { DEFAULT_CHALLENGE_MAX_AGE_MS } from '../auth/wire/challenge.js';
import { mountAdmin, type SimAdmin } from './admin.js';
import { mountAm } from './am.js';
import type { SimContext } from './context.js';
import { FaultQueue } from './faults.js';
import { mountGas, reject } from './gas.js';
import { sendText } from './replies.js';
import { DEFAULT_SESSION_LIMITS, SessionStore, type SessionLimits } from './sessions.js';
import { mountSsb } from './ssb.js';
import type { TrustStore } from './trust.js';
import { parseUsers, type SimUser } from './users.js';

export const DEFAULT_BODY_LIMIT = 256 * 1024;

/** The agent's rule (src/api/app.ts): 127.0.0.1, localhost or [::1], with an optional port. */
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

/** Options of the simulator app. */
export interface SpineSimOptions {
  readonly users: readonly SimUser[];
  readonly trust: TrustStore;
  readonly crls?: readonly CrlInfo[];
  /** Unix ms; default `Date.now`. Drives challenges, sessions and certificate validity. */
  readonly clock?: () => number;
  readonly logger?: Logger;
  /** Session lifetimes in minutes (default 600/600, as the INT 2017 capture). */
  readonly sessionLimits?: Partial<SessionLimits>;
  /** Default 'if-available': a CRL that is present is enforced; no CRL for an issuer is a warning. */
  readonly revocation?: RevocationPolicy;
  /** Accept RSA-1024/SHA-1 CA signatures (the INT PKI); default true. */
  readonly allowLegacyCrypto?: boolean;
  /** Default 5 minutes. */
  readonly challengeMaxAgeMs?: number;
  /** Default 256 KiB. */
  readonly bodyLimit?: number;
  /** The URL put in `reply_url`, `sso_logout_url`, …; default: from the request's Host. */
  readonly publicUrl?: string;
  /** HMAC key for challenges; default 32 random bytes per instance. */
  readonly serverKey?: Uint8Array;
  /** Mount the fault-injection routes `/_sim/*` (default false; the CLI's `--faults`). */
  readonly adminRoutes?: boolean;
  /** Exact browser origins (scheme://host:port) allowed to call; default none (every Origin is refused). */
  readonly allowedOrigins?: readonly string[];
}

/** The app, its admin handle, and the hanging responses (so that close() can end them). */
export interface SpineSimApp {
  readonly app: Express;
  readonly admin: SimAdmin;
  readonly hanging: Set<Response>;
}

/**
 * Builds the simulator app.
 *
 * @example
 * ```ts
 * const { app } = createSpineSimApp({ users, trust: loadTrustDir(dir), crls: loadCrlDir(crlDir) });
 * await request(app).post('/login/authactivate').send(buildActivateRequest(identity));
 * ```
 */
export function createSpineSimApp(options: SpineSimOptions): SpineSimApp {
  const users = parseUsers(options.users);
  const now = options.clock ?? Date.now;
  const ctx: SimContext = {
    users: new Map(users.map((u) => [u.uid, u])),
    trust: { anchors: [...options.trust.anchors], intermediates: [...options.trust.intermediates] },
    crls: [...(options.crls ?? [])],
    revocation: options.revocation ?? 'if-available',
    allowLegacyCrypto: options.allowLegacyCrypto ?? true,
    challengeMaxAgeMs: options.challengeMaxAgeMs ?? DEFAULT_CHALLENGE_MAX_AGE_MS,
    serverKey: options.serverKey ?? randomBytes(32),
    now,
    sessions: new SessionStore(now, { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits }),
    faults: new FaultQueue(),
    logger: options.logger ?? silentLogger,
    publicUrl: options.publicUrl,
  };
  const hanging = new Set<Response>();
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  app.use((req, res, next) => {
    res.on('finish', () => {
      ctx.logger.debug({ method: req.method, path: req.path, status: res.statusCode }, 'request');
    });
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
      sendText(res, 403, 'Forbidden: the Host header is not a loopback name (FORBIDDEN_HOST)\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      sendText(
        res,
        403,
        'Forbidden: requests from this origin are not allowed (FORBIDDEN_ORIGIN)\n',
      );
      return;
    }
    if (req.path.startsWith('/_sim/')) {
      next();
      return;
    }
    const fault = ctx.faults.take(req.path, ['5xx', 'hang']);
    if (fault === '5xx') {
      sendText(res, 503, 'Service Unavailable (injected fault)\n');
      return;
    }
    if (fault === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    next();
  });
  app.use(express.raw({ type: () => true, limit: options.bodyLimit ?? DEFAULT_BODY_LIMIT }));

  const router = express.Router();
  mountGas(router, ctx);
  mountSsb(router, ctx);
  mountAm(router, ctx);
  const admin = mountAdmin(router, ctx, options.adminRoutes ?? false);
  app.use(router);

  app.use((_req, res) => {
    sendText(res, 404, 'Not Found\n');
  });
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const status =
      typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
    if (res.headersSent) {
      res.end();
      return;
    }
    if (status === 413) {
      reject(ctx, req, res, 'REQUEST_TOO_LARGE', 'AUTHENTICATION', '');
    } else if (typeof status === 'number' && status >= 400 && status < 500) {
      reject(ctx, req, res, 'MALFORMED_REQUEST', 'AUTHENTICATION', '');
    } else {
      ctx.logger.error({ err, path: req.path }, 'simulator error');
      reject(ctx, req, res, 'INTERNAL_ERROR', 'AUTHENTICATION', '');
    }
  };
  app.use(onError);
  return { app, admin, hanging };
}
