/**
 * Route tables: each router declares its routes in one place — method, path, request schema, response
 * schemas and the error codes it may answer with — and {@link defineRouter} both mounts them on an express
 * Router and keeps the declarations on it. `createApp` accepts only such routers and builds the OpenAPI
 * document (openapi.ts) from the same declarations, so a route cannot be mounted without being documented
 * (test/api/openapi.test.ts walks the mounted stack to check).
 *
 * Rules:
 * - a JSON body declared as `body` is validated (zod) before the handler runs; the handler gets the parsed
 *   value. A failure is ERR_BAD_REQUEST with field paths only (never the input);
 * - a non-JSON body (`rawBody`) is read by the middleware given in `use` and described by its media types;
 * - `errors` lists the codes of the route's own failures; the HTTP layer's codes (api/errors.ts) apply to
 *   every route and are added by the document builder;
 * - every router is made by {@link apiRouter}: case-sensitive and strict, so a route answers only at the exact
 *   path that the access table (access.ts) names. Express's default matches `/API/V1/LOGIN` and
 *   `/api/v1/login/` too, which the table, keyed by the exact path, would not recognise as the same route.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { parseBody } from './validate.js';

export type Method = 'get' | 'post' | 'put' | 'delete' | 'options';

/**
 * A router that matches paths exactly: case-sensitive, and no trailing-slash variant (see the rules above).
 *
 * @example
 * ```ts
 * const r = apiRouter();
 * r.post('/api/v1/login', handler); // not reached by POST /api/v1/login/ or /API/V1/LOGIN
 * ```
 */
export function apiRouter(): Router {
  return Router({ caseSensitive: true, strict: true });
}

/** One documented response. */
export interface ResponseSpec {
  readonly description: string;
  /** Media type, default application/json. */
  readonly contentType?: string;
  /** The body's schema (for JSON) or the string's (for text and XML). Absent: any body of that type. */
  readonly schema?: z.ZodType;
}

/** One route: what express mounts and what the OpenAPI document says, declared together. */
export interface RouteSpec<B extends z.ZodType = z.ZodType> {
  readonly method: Method;
  /** Express path without parameters (the agent's routes have none). */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  /** OpenAPI tag (the router's name). */
  readonly tag: string;
  /** A JSON request body, validated before the handler. */
  readonly body?: B;
  /** Whether a JSON body may be left out (validated as `{}`); default: required when `body` is set. */
  readonly bodyOptional?: boolean;
  /** A non-JSON request body: its media types (read by a middleware in `use`). */
  readonly rawBody?: { readonly contentTypes: readonly string[]; readonly description: string };
  /** Request headers the route reads. */
  readonly headers?: readonly {
    readonly name: string;
    readonly description: string;
    readonly required?: boolean;
  }[];
  /** Middleware run before the handler (a raw body parser, say). */
  readonly use?: readonly RequestHandler[];
  /** Success responses by status. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Error codes (registry codes) the route itself may answer with. */
  readonly errors: readonly string[];
  readonly handle: (req: Request, res: Response, body: z.infer<B>) => unknown;
}

/** What the OpenAPI document needs of a route (a {@link RouteSpec} without its handler). */
export type RouteDoc = Omit<RouteSpec, 'handle' | 'use'>;

/** A router that carries its route table. */
export interface ApiRouter extends Router {
  readonly routes: readonly RouteDoc[];
}

/**
 * A router whose routes are mounted by hand, with their declarations beside them (for routers whose
 * middleware order does not fit {@link defineRouter}). test/integration/api/openapi-live.test.ts checks
 * that what is mounted and what is declared agree.
 */
export function documented(router: Router, routes: readonly RouteDoc[]): ApiRouter {
  return Object.assign(router, { routes: Object.freeze([...routes]) });
}

/** Declares one route (infers the body type for the handler). */
export function route<B extends z.ZodType>(spec: RouteSpec<B>): RouteSpec {
  return spec as unknown as RouteSpec;
}

/**
 * Mounts a route table on a new Router and keeps the table on it.
 *
 * @example
 * ```ts
 * const r = defineRouter([route({ method: 'get', path: '/api/v1/x', tag: 'x', summary: 'X',
 *   responses: { 200: { description: 'ok', schema: z.object({ ok: z.boolean() }) } }, errors: [],
 *   handle: (_req, res) => res.json({ ok: true }) })]);
 * ```
 */
export function defineRouter(routes: readonly RouteSpec[]): ApiRouter {
  const router = apiRouter();
  for (const spec of routes) {
    const handler: RequestHandler = async (req, res) => {
      const body: unknown = spec.body ? parseBody(spec.body, req.body) : undefined;
      await spec.handle(req, res, body);
    };
    router[spec.method](spec.path, ...(spec.use ?? []), handler);
  }
  return Object.assign(router, { routes: Object.freeze([...routes]) });
}
