/**
 * A nesting limit for JSON request bodies, checked on the raw bytes before `JSON.parse`.
 *
 * Why: `JSON.parse` itself takes 100,000 levels of `[[[…]]]`, but everything that walks the value afterwards
 * by recursion (`JSON.stringify`, zod, a FHIR reader) overflows the stack, which surfaced as a 500. No request
 * this service takes nests deeper than a FHIR Bundle (about 12 levels), so a body deeper than
 * {@link MAX_JSON_DEPTH} is refused with ERR_BAD_REQUEST before it is parsed.
 */
import { fromTable } from '../errors.js';
import { API_ERRORS } from './errors.js';

/** Deepest JSON nesting accepted in a request body. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The nesting depth of JSON text (objects and arrays), counting brackets outside strings; stops counting
 * once `stopAt` is passed. Does not validate the JSON (the parser does).
 *
 * @example
 * ```ts
 * jsonDepth(Buffer.from('{"a":[1,{"b":"]"}]}')); // 3
 * ```
 */
export function jsonDepth(bytes: Uint8Array, stopAt = Number.MAX_SAFE_INTEGER): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) {
        i++;
      } else if (b === QUOTE) {
        inString = false;
      }
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === 0x5b || b === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAt) {
          return max;
        }
      }
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    }
  }
  return max;
}

/**
 * The `verify` hook of `express.json()`: refuses a body nested deeper than {@link MAX_JSON_DEPTH}.
 *
 * @example
 * ```ts
 * app.use(express.json({ limit: '1mb', verify: refuseDeepJson }));
 * ```
 */
export function refuseDeepJson(_req: unknown, _res: unknown, buf: Buffer): void {
  if (jsonDepth(buf, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw fromTable(API_ERRORS, 'ERR_BAD_REQUEST', {
      detail: {
        issues: [{ path: '(body)', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` }],
      },
    });
  }
}
