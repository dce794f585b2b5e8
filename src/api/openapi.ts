/**
 * The OpenAPI 3.1 document of the agent's HTTP API, built from the route tables (route-table.ts) and their
 * zod schemas (zod 4's JSON Schema output, draft 2020-12, which is OpenAPI 3.1's schema dialect). Served at
 * GET /api/v1/openapi.json and written to docs/openapi.json (`npm run docs:openapi`; a test fails when the
 * file is stale).
 *
 * Rules:
 * - every mounted route is in the document (the app mounts only route tables);
 * - schemas with a zod `meta({ id })` become `components.schemas` and are referenced, all others inline;
 * - every error is `application/problem+json` (RFC 9457) with the `Problem` schema; each status lists the
 *   codes a route may answer with — its own and the HTTP layer's EVERY_ROUTE_ERRORS (api/errors.ts).
 */
import { z } from 'zod';
import { EVERY_ROUTE_ERRORS } from './errors.js';
import { errorSpec, PROBLEM_JSON } from './error-registry.js';
import type { RouteDoc as RouteSpec } from './route-table.js';
import { ProblemSchema } from './schemas.js';

type Json = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';

/**
 * JSON Schema of a zod schema, with its `$defs` moved into `components` and the references rewritten.
 */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const js = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Json;
  const defs = (js.$defs ?? {}) as Record<string, Json>;
  delete js.$defs;
  delete js.$schema;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      return v.map(rewrite);
    }
    if (v && typeof v === 'object') {
      const out: Json = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] =
          k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/')
            ? COMPONENT + x.slice('#/$defs/'.length)
            : rewrite(x);
      }
      return out;
    }
    return v;
  };
  for (const [name, def] of Object.entries(defs)) {
    // the same id from a request (input) and a response (output) view: keep the first
    components[name] ??= rewrite(def);
  }
  // A schema that is itself a component comes back as a reference to it.
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id === 'string') {
    components[id] ??= rewrite(js);
    return { $ref: COMPONENT + id };
  }
  return rewrite(js) as Json;
}

function operationId(r: RouteSpec): string {
  const words = r.path.split(/[^A-Za-z0-9]+/).filter((w) => w !== '' && w !== 'api' && w !== 'v1');
  const name = words.map((w, i) => (i === 0 ? w : w[0]?.toUpperCase() + w.slice(1))).join('');
  return `${r.method}${name ? name[0]?.toUpperCase() + name.slice(1) : 'Root'}`;
}

/** The error responses of a route: by status, the codes listed, each body a Problem. */
function errorResponses(r: RouteSpec): Record<string, Json> {
  const codes = [...new Set([...r.errors, ...EVERY_ROUTE_ERRORS])].sort();
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const spec = errorSpec(code);
    if (spec === undefined) {
      throw new Error(`route ${r.method.toUpperCase()} ${r.path} lists an unknown code ${code}`);
    }
    byStatus.set(spec.status, [...(byStatus.get(spec.status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: list.map((c) => `\`${c}\``).join(', '),
      content: { [PROBLEM_JSON]: { schema: { $ref: `${COMPONENT}Problem` } } },
    };
  }
  return out;
}

/**
 * Builds the document.
 *
 * @example
 * ```ts
 * const doc = buildOpenApi(routers.flatMap((r) => r.routes), { version: '0.1.0' });
 * doc.paths['/api/v1/status'].get.responses['200'];
 * ```
 */
export function buildOpenApi(routes: readonly RouteSpec[], info: { version: string }): Json {
  const components: Json = {};
  schemaOf(ProblemSchema, 'output', components);
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const op: Json = {
      operationId: operationId(r),
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
    };
    if (r.headers?.length) {
      op.parameters = r.headers.map((h) => ({
        name: h.name,
        in: 'header',
        required: h.required === true,
        description: h.description,
        schema: { type: 'string' },
      }));
    }
    if (r.body) {
      op.requestBody = {
        required: r.bodyOptional !== true,
        content: { 'application/json': { schema: schemaOf(r.body, 'input', components) } },
      };
    } else if (r.rawBody) {
      op.requestBody = {
        required: true,
        description: r.rawBody.description,
        content: Object.fromEntries(
          r.rawBody.contentTypes.map((t) => [t, { schema: { type: 'string' } }]),
        ),
      };
    }
    const responses: Record<string, Json> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      const type = res.contentType ?? 'application/json';
      responses[status] = {
        description: res.description,
        content: {
          [type]: {
            schema: res.schema
              ? schemaOf(res.schema, 'output', components)
              : type === 'application/json'
                ? {}
                : { type: 'string' },
          },
        },
      };
    }
    op.responses = { ...responses, ...errorResponses(r) };
    paths[r.path] = { ...paths[r.path], [r.method]: op };
  }
  const sortedComponents = Object.fromEntries(
    Object.entries(components).sort(([a], [b]) => a.localeCompare(b)),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'rxsign agent',
      version: info.version,
      description:
        'The local HTTP API of the rxsign identity agent: the CIS Ticket API (/ticket-api/*, its names and values kept) and everything else under /api/v1. Loopback only. Errors are RFC 9457 problem details; see docs/api.md and docs/errors.md.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://127.0.0.1:8730', description: 'the agent on its default port' }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { schemas: sortedComponents },
  };
}
