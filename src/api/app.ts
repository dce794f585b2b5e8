/**
 * The agent's local HTTP service (express). Rules it enforces:
 * - loopback only: the Host header must name 127.0.0.1, [::1] or localhost (DNS-rebinding defence);
 * - browser requests (those with an Origin header) are accepted only from the exact origins configured;
 * - JSON bodies with a size limit; every bad input is a 4xx with a stable code, never a 500 or a crash;
 * - one error handler builds every error body (error-registry.ts); the log line carries the code, never the
 *   input, a PIN or a ticket.
 */
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { ServiceError, fromTable } from '../errors.js';
import { API_ERRORS } from './errors.js';
import { errorResponse } from './error-registry.js';
import { refuseDeepJson } from './json-depth.js';

export interface AppOptions {
  readonly logger: Logger;
  readonly routers: readonly Router[];
  /** Exact origins (scheme://host:port) allowed to call from a browser. The agent's own page is always allowed. */
  readonly allowedOrigins?: readonly string[];
  /** JSON body limit, default 1 MiB. */
  readonly jsonLimit?: string;
  /** Larger JSON limits for routes under a path prefix (e.g. batch verification). */
  readonly jsonLimits?: readonly { readonly prefix: string; readonly limit: string }[];
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

export function apiError(
  code: keyof typeof API_ERRORS,
  detail?: Record<string, unknown>,
): ServiceError {
  return fromTable(API_ERRORS, code, detail ? { detail } : {});
}

const hostGuard: RequestHandler = (req, _res, next) => {
  const host = req.headers.host ?? '';
  next(LOOPBACK_HOST.test(host) ? undefined : apiError('ERR_FORBIDDEN_HOST'));
};

function originGuard(allowed: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      next();
      return;
    }
    const self = `http://${req.headers.host ?? ''}`;
    next(
      origin === self || allowed.includes(origin) ? undefined : apiError('ERR_FORBIDDEN_ORIGIN'),
    );
  };
}

/**
 * Our code for a 4xx from express's own stack (http-errors: body-parser's too-large, unparsable, unsupported
 * charset or encoding, undecompressable or truncated body): all of them are the client's fault, never a 500.
 */
function fromHttpError(err: unknown): ServiceError | undefined {
  if (err instanceof ServiceError) {
    // Our own error thrown inside a parser hook (json-depth.ts), which http-errors gave a status. (Not
    // isServiceError: zlib's brotli errors carry codes such as ERR__ERROR_FORMAT_PADDING_1.)
    return err;
  }
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  if (expose !== true || typeof status !== 'number' || status < 400 || status > 499) {
    return undefined;
  }
  return apiError(status === 413 ? 'ERR_BODY_TOO_LARGE' : 'ERR_BAD_REQUEST');
}

/**
 * Builds the app.
 *
 * @example
 * ```ts
 * const app = createApp({ logger, routers: [ticketRouter(agent)] });
 * app.listen(8730, '127.0.0.1');
 * ```
 */
export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // First, so that a refused Host or Origin (a DNS-rebinding attempt) is logged and gets the headers too.
  app.use((req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    const started = performance.now();
    res.on('finish', () => {
      o.logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  });
  app.use(hostGuard);
  app.use(originGuard(o.allowedOrigins ?? []));
  // Mounted by path like the routes, so the larger limit applies under the prefix only; a body one parser
  // has read is skipped by the next.
  for (const l of o.jsonLimits ?? []) {
    app.use(l.prefix, express.json({ limit: l.limit, strict: true, verify: refuseDeepJson }));
  }
  app.use(express.json({ limit: o.jsonLimit ?? '1mb', strict: true, verify: refuseDeepJson }));
  for (const r of o.routers) {
    app.use(r);
  }
  app.use((_req, _res, next) => next(apiError('ERR_NOT_FOUND')));
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const { status, body } = errorResponse(fromHttpError(err) ?? err);
    if (status >= 500) {
      // Only names and codes: a library error's own fields (body-parser's `body`, say) may carry input.
      const code = (err as { code?: unknown }).code;
      o.logger.error(
        {
          code: body.code,
          errorName: err instanceof Error ? err.name : typeof err,
          ...(typeof code === 'string' ? { cause: code } : {}),
        },
        'request failed',
      );
    }
    if (body.retryAfterMs !== undefined) {
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(body.retryAfterMs / 1000))));
    }
    res.status(status).json(body);
  };
  app.use(onError);
  return app;
}
