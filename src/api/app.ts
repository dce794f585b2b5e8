/**
 * The agent's local HTTP service (express). Rules it enforces:
 * - who may call (access.ts): loopback peers, a loopback Host (DNS-rebinding defence), an allowlisted Origin
 *   with CORS or none, and a bearer key for every local request except the static page;
 * - no response may be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`);
 * - JSON bodies with a size limit; every bad input is a 4xx with a stable code, never a 500 or a crash;
 * - one error handler builds every error body (error-registry.ts); the log line carries the code, never the
 *   input, a PIN or a ticket; a 4xx's `detail` (field paths, a CKR name: never a secret) is logged at debug
 *   level only.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ServiceError } from '../errors.js';
import { accessGuard, helloRouter, type AccessOptions } from './access.js';
import { apiError } from './errors.js';
import { errorResponse, PROBLEM_JSON } from './error-registry.js';
import { renderErrorsDoc } from './errors-doc.js';
import { checkJsonBody } from './json-depth.js';
import { buildOpenApi } from './openapi.js';
import {
  apiRouter,
  defineRouter,
  documented,
  route,
  type ApiRouter,
  type RouteDoc,
} from './route-table.js';

export { apiError } from './errors.js';

export interface AppOptions {
  readonly logger: Logger;
  /** Route tables (route-table.ts): mounted in order and documented in the OpenAPI document. */
  readonly routers: readonly ApiRouter[];
  /** The version in the OpenAPI document, default 0.0.0. */
  readonly version?: string;
  /** Who may call: the keys (`cli` is the per-start key), allowlisted origins and the approvals. */
  readonly access: AccessOptions;
  /** JSON body limit, default 1 MiB. */
  readonly jsonLimit?: string;
  /**
   * Larger JSON limits for routes under a path prefix (e.g. batch verification); `concurrent` caps how many
   * requests under the prefix are read and handled at once (the rest get 503 ERR_LARGE_BODY_BUSY before
   * their body is read), so that large bodies cannot together outgrow the agent's heap (src/node-flags.ts).
   */
  readonly jsonLimits?: readonly {
    readonly prefix: string;
    readonly limit: string;
    readonly concurrent?: number;
  }[];
}

/**
 * At most `max` requests at once through this middleware; one more is refused with 503 ERR_LARGE_BODY_BUSY
 * and `Retry-After: 1` before its body is read. A place is given back when the response ends or the client
 * goes away.
 */
function admission(max: number): RequestHandler {
  let inFlight = 0;
  return (_req, res, next) => {
    if (inFlight >= max) {
      res.setHeader('retry-after', '1');
      next(apiError('ERR_LARGE_BODY_BUSY'));
      return;
    }
    inFlight += 1;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        inFlight -= 1;
      }
    };
    res.once('finish', release);
    res.once('close', release);
    next();
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

const Hello = z
  .object({
    challenge: z.string().describe('A random challenge (base64url).'),
    proof: z.string().describe('HMAC(key, "client" ‖ challenge), base64url.'),
  })
  .strict();

/** POST /api/v1/hello (access.ts helloRouter): the CLI and the agent prove the per-start key to each other. */
const HELLO_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/api/v1/hello',
    tag: 'Agent',
    summary: 'Mutual proof of the per-start key between the CLI and the agent (docs/security.md)',
    body: Hello,
    responses: {
      200: {
        description: 'The agent’s proof: HMAC(key, "agent" ‖ challenge).',
        schema: z.object({ proof: z.string() }),
      },
    },
    errors: ['ERR_UNAUTHORIZED', 'ERR_FORBIDDEN_ORIGIN'],
  },
];

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
  const withHello = [documented(apiRouter(), HELLO_ROUTES), ...routers];
  const all = [...withHello, docsRouter(withHello, version)];
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
 * const app = createApp({ logger, routers: [ticketRouter(agent)], access: { keys: new Map([['cli', key]]) } });
 * app.listen(8730, '127.0.0.1');
 * ```
 */
export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Paths match exactly, as the access table names them (route-table.ts apiRouter).
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  // First, so that a refused Host or Origin (a DNS-rebinding attempt) is logged and gets the headers too.
  app.use((req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    const started = performance.now();
    res.on('finish', () => {
      const code: unknown = res.locals.errorCode;
      o.logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ...(typeof code === 'string' ? { code } : {}),
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  });
  app.use(accessGuard(o.access));
  // Mounted by path like the routes, so the larger limit applies under the prefix only; a body one parser
  // has read is skipped by the next.
  for (const l of o.jsonLimits ?? []) {
    if (l.concurrent !== undefined) {
      app.use(l.prefix, admission(l.concurrent));
    }
    app.use(l.prefix, express.json({ limit: l.limit, strict: true, verify: checkJsonBody }));
  }
  app.use(express.json({ limit: o.jsonLimit ?? '1mb', strict: true, verify: checkJsonBody }));
  const cli = o.access.keys.get('cli');
  const hello = cli === undefined ? undefined : documented(helloRouter(cli), HELLO_ROUTES);
  if (hello !== undefined) {
    app.use(hello);
  }
  const docs = docsRouter(hello ? [hello, ...o.routers] : o.routers, o.version ?? '0.0.0');
  for (const r of [...o.routers, docs]) {
    app.use(r);
  }
  app.use((_req, _res, next) => next(apiError('ERR_NOT_FOUND')));
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const known = fromHttpError(err) ?? err;
    const { status, body } = errorResponse(known);
    res.locals.errorCode = body.code;
    if (status < 500 && known instanceof ServiceError && known.detail !== undefined) {
      o.logger.debug({ code: body.code, detail: known.detail }, 'request refused');
    }
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
