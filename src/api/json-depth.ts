/**
 * A nesting limit for JSON request bodies, checked on the raw bytes before `JSON.parse`.
 *
 * Why: `JSON.parse` itself takes 100,000 levels of `[[[…]]]`, but everything that walks the value afterwards
 * by recursion (`JSON.stringify`, zod, a FHIR reader) overflows the stack, which surfaced as a 500. No request
 * this service takes nests deeper than a FHIR Bundle (about 12 levels), so a body deeper than
 * {@link MAX_JSON_DEPTH} is refused with ERR_BAD_REQUEST before it is parsed.
 */
import { apiError } from './errors.js';

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
 * The `verify` hook of `express.json()`: refuses a body whose charset is not UTF-8 (ERR_UNSUPPORTED_MEDIA_TYPE:
 * JSON exchanged between systems is UTF-8, RFC 8259 §8.1) and one nested deeper than {@link MAX_JSON_DEPTH}.
 * The charset comes first because the depth is counted on the bytes as sent: in UTF-7 a `[` is `+AFs-`, and in
 * UTF-16 the bytes are not ASCII, so body-parser's decoding would hand the parser a nesting never counted.
 *
 * @example
 * ```ts
 * app.use(express.json({ limit: '1mb', verify: checkJsonBody }));
 * ```
 */
export function checkJsonBody(_req: unknown, _res: unknown, buf: Buffer, encoding: string): void {
  if (encoding.toLowerCase() !== 'utf-8' && encoding.toLowerCase() !== 'utf8') {
    throw apiError('ERR_UNSUPPORTED_MEDIA_TYPE', {
      issues: [{ path: '(content-type)', message: 'JSON must be sent as UTF-8' }],
    });
  }
  if (jsonDepth(buf, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw apiError('ERR_BAD_REQUEST', {
      issues: [{ path: '(body)', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` }],
    });
  }
}
