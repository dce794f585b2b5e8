/**
 * The agent's local HTTP service (express). Rules it enforces:
 * - loopback only: the Host header must name 127.0.0.1, [::1] or localhost (DNS-rebinding defence);
 * - browser requests (those with an Origin header) are accepted only from the exact origins configured;
 * - JSON bodies with a size limit; every bad input is a 4xx with a stable code, never a 500 or a crash;
 * - one error handler builds every error body (error-registry.ts); the log line carries the code, never the
 *   input, a PIN or a ticket.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { fromTable, type ServiceError } from '../errors.js';
import { API_ERRORS } from './errors.js';
import { errorResponse, PROBLEM_JSON } from './error-registry.js';
import { renderErrorsDoc } from './errors-doc.js';
import { buildOpenApi } from './openapi.js';
import { defineRouter, route, type ApiRouter } from './route-table.js';

export interface AppOptions {
  readonly logger: Logger;
  /** Route tables (route-table.ts): mounted in order and documented in the OpenAPI document. */
  readonly routers: readonly ApiRouter[];
  /** The version in the OpenAPI document, default 0.0.0. */
  readonly version?: string;
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
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  if (expose !== true || typeof status !== 'number' || status < 400 || status > 499) {
    return undefined;
  }
  return apiError(status === 413 ? 'ERR_BODY_TOO_LARGE' : 'ERR_BAD_REQUEST');
}

/**
 * The API's own description: GET /api/v1/openapi.json (built from every route table, this one included) and
 * GET /errors (docs/errors.md, where each problem `type` `/errors#<code>` points).
 */
function docsRouter(routers: readonly ApiRouter[], version: string): ApiRouter {
  let doc: string | undefined;
  const self: ApiRouter = defineRouter([
    route({
      method: 'get',
      path: '/api/v1/openapi.json',
      tag: 'Agent',
      summary: 'This API’s OpenAPI 3.1 document (also docs/openapi.json)',
      responses: { 200: { description: 'The OpenAPI document.' } },
      errors: [],
      handle: (_req, res) => {
        doc ??= JSON.stringify(
          buildOpenApi(
            [...routers, self].flatMap((r) => r.routes),
            { version },
          ),
        );
        res.type('application/json').send(doc);
      },
    }),
    route({
      method: 'get',
      path: '/errors',
      tag: 'Agent',
      summary: 'The error codes (docs/errors.md): where each problem `type` points',
      responses: {
        200: { description: 'The error list (Markdown).', contentType: 'text/markdown' },
      },
      errors: [],
      handle: (_req, res) => {
        res.type('text/markdown').send(renderErrorsDoc());
      },
    }),
  ]);
  return self;
}

/**
 * The OpenAPI document of an app made of `routers` (what GET /api/v1/openapi.json serves).
 *
 * @example
 * ```ts
 * writeFileSync('docs/openapi.json', JSON.stringify(apiDocument(routers, VERSION), null, 2));
 * ```
 */
export function apiDocument(
  routers: readonly ApiRouter[],
  version: string,
): ReturnType<typeof buildOpenApi> {
  const all = [...routers, docsRouter(routers, version)];
  return buildOpenApi(
    all.flatMap((r) => r.routes),
    { version },
  );
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
    app.use(l.prefix, express.json({ limit: l.limit, strict: true }));
  }
  app.use(express.json({ limit: o.jsonLimit ?? '1mb', strict: true }));
  const docs = docsRouter(o.routers, o.version ?? '0.0.0');
  for (const r of [...o.routers, docs]) {
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
    res.status(status).type(PROBLEM_JSON).send(JSON.stringify(body));
  };
  app.use(onError);
  return app;
}
