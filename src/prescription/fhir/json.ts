/**
 * A strict JSON reader (RFC 8259) that keeps each number's source text, as EPS does with lossless-json: a FHIR
 * decimal such as `1.50` is written into HL7 v3 as `1.50`, never `1.5` (docs/protocol/eps-signing.md §1.2).
 *
 * Rules:
 * - numbers become {@link JsonNumber} (the text as written), every other value is plain JSON;
 * - duplicate object keys, a BOM other than at the start, trailing content, nesting deeper than 64 levels
 *   and lone surrogates in strings are refused (ERR_FHIR_JSON_INVALID): a hostile document must not read
 *   one way here and another way at EPS;
 * - objects have no prototype (a key `__proto__` is an ordinary key).
 */
import { fhirError } from './errors.js';

/** A JSON number kept as written. */
export class JsonNumber {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  toJSON(): number {
    return Number(this.text);
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const MAX_DEPTH = 64;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * Parses JSON text (or UTF-8 bytes) keeping number text.
 *
 * @example
 * ```ts
 * const v = parseJsonLossless('{"value":1.50}') as JsonObject;
 * (v.value as JsonNumber).text; // '1.50'
 * ```
 */
export function parseJsonLossless(input: string | Uint8Array): JsonValue {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (cause) {
      throw fhirError('ERR_FHIR_JSON_INVALID', { cause, element: '(document)' });
    }
  }
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
  }
  const reader = new Reader(text);
  reader.ws();
  const value = reader.value(0);
  reader.ws();
  if (reader.i !== text.length) {
    reader.fail();
  }
  return value;
}

class Reader {
  i = 0;
  readonly s: string;

  constructor(s: string) {
    this.s = s;
  }

  fail(): never {
    throw fhirError('ERR_FHIR_JSON_INVALID', { element: `(offset ${this.i})` });
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        this.i++;
      } else {
        break;
      }
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) {
      this.fail();
    }
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default: {
        NUMBER.lastIndex = this.i;
        const m = NUMBER.exec(this.s);
        if (m === null || m[0] === '') {
          this.fail();
        }
        this.i += m[0].length;
        return new JsonNumber(m[0]);
      }
    }
  }

  literal<T>(word: string, value: T): T {
    if (!this.s.startsWith(word, this.i)) {
      this.fail();
    }
    this.i += word.length;
    return value;
  }

  object(depth: number): JsonObject {
    const out = Object.create(null) as JsonObject;
    const seen = new Set<string>();
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') {
        this.fail();
      }
      const key = this.string();
      if (seen.has(key)) {
        this.fail();
      }
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') {
        this.fail();
      }
      this.i++;
      this.ws();
      out[key] = this.value(depth + 1);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') {
        return out;
      }
      if (c !== ',') {
        this.i--;
        this.fail();
      }
    }
  }

  array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') {
        return out;
      }
      if (c !== ',') {
        this.i--;
        this.fail();
      }
    }
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail();
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(start, i);
        this.i = i + 1;
        break;
      }
      if (c < 0x20) {
        this.i = i;
        this.fail();
      }
      if (c === 0x5c) {
        out += s.slice(start, i);
        const e = s[i + 1] ?? '';
        if (e === 'u') {
          const hex = s.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.i = i;
            this.fail();
          }
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else {
          const r = ESCAPES[e];
          if (r === undefined) {
            this.i = i;
            this.fail();
          }
          out += r;
          i += 2;
        }
        start = i;
        continue;
      }
      i++;
    }
    if (LONE_SURROGATE.test(out)) {
      this.fail();
    }
    return out;
  }
}

/**
 * Writes a value read by {@link parseJsonLossless} back to JSON text, each number exactly as it was written
 * (a Bundle that goes back to EPS must hash as it did here).
 *
 * @example
 * ```ts
 * stringifyJsonLossless(parseJsonLossless('{"value":1.50}')); // '{"value":1.50}'
 * ```
 */
export function stringifyJsonLossless(value: unknown): string {
  if (value instanceof JsonNumber) {
    return value.text;
  }
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => stringifyJsonLossless(v === undefined ? null : v)).join(',')}]`;
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== undefined) {
      parts.push(`${JSON.stringify(k)}:${stringifyJsonLossless(v)}`);
    }
  }
  return `{${parts.join(',')}}`;
}
