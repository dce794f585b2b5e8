// Checks against the agent's OpenAPI document: the routes an express app really mounts (walking its router
// stack), and a real response validated (ajv, JSON Schema 2020-12) against the document's schema for it.
import { Ajv2020 } from 'ajv/dist/2020.js';

type Json = Record<string, unknown>;

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD path` of every route an express 5 app (or router) has mounted, walking nested routers. */
export function mountedRoutes(app: unknown): string[] {
  const root = (app as { router?: { stack: Layer[] } }).router ?? (app as { stack?: Layer[] });
  const out: string[] = [];
  const walk = (stack: readonly Layer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const m of Object.keys(layer.route.methods)) {
          for (const p of paths) {
            out.push(`${m.toUpperCase()} ${String(p)}`);
          }
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack);
      }
    }
  };
  walk(root.stack ?? []);
  return out.sort();
}

/** `METHOD path` of every operation in the document. */
export function documentedRoutes(doc: Json): string[] {
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
}

const pointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * A validator of real responses: `check(method, path, status, contentType, body)` returns the ajv errors
 * (empty when valid), or throws when the document has no such response at all.
 */
export function responseChecker(
  doc: Json,
): (method: string, path: string, status: number, contentType: string, body: unknown) => string[] {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: 'rxsign-openapi' });
  return (method, path, status, contentType, body) => {
    const type = contentType.split(';')[0]?.trim() ?? '';
    const op = (doc.paths as Record<string, Record<string, Json>>)[path]?.[method.toLowerCase()];
    const res = (op?.responses as Record<string, Json> | undefined)?.[String(status)];
    const content = res?.content as Record<string, unknown> | undefined;
    if (!content?.[type]) {
      throw new Error(`the document has no ${status} ${type} response for ${method} ${path}`);
    }
    const validate = ajv.compile({
      $ref: `rxsign-openapi#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${status}/content/${pointer(type)}/schema`,
    });
    return validate(body)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };
}
