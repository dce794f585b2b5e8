/**
 * A strict X.690 reader that walks BER/DER in place (internal to src/cms): no objects per byte, no copies;
 * each element is a set of offsets into the buffer it was read from.
 *
 * Rules:
 * - X.690 §8.1.2: low tag numbers (0–30) use one identifier octet; the high-tag form is for 31 and above only,
 *   minimal (no leading 0x80 octet) and at most 4 subsequent octets; universal tag 0 is end-of-contents only;
 * - X.690 §10.1 (DER): definite lengths in the fewest octets (short form below 128, no leading zero octet);
 *   0xFF is reserved (§8.1.3.5 c); a length may use at most 4 octets and must fit in what is left of its parent;
 * - X.690 §8.1.3.6 (BER): the indefinite form only where the caller allows it, only for constructed
 *   elements, ended by 00 00; nesting is limited to {@link MAX_DEPTH};
 * - X.690 §8.3.2: INTEGER contents are one or more octets, the first nine bits not all equal;
 * - X.690 §8.19: OBJECT IDENTIFIER subidentifiers are minimal (no leading 0x80) and the last one is complete;
 * - X.690 §10.2: a whole input is exactly one element (no trailing bytes);
 * - {@link childrenOf} lists at most `max` elements (default {@link MAX_CHILDREN}), so that a 20 MiB SET of
 *   two-byte elements costs no more than its first elements.
 * Every violation throws {@link DerError}; the caller maps it to its own error code.
 */

/** Malformed BER/DER (internal: callers turn it into a ServiceError code). */
export class DerError extends Error {
  constructor() {
    super('malformed DER');
    this.name = 'DerError';
  }
}

/** Deepest nesting of indefinite-length elements (CMS from `openssl cms -sign -stream` uses 6). */
export const MAX_DEPTH = 16;

/** Most elements {@link childrenOf} returns by default. */
export const MAX_CHILDREN = 256;

export interface DerNode {
  readonly buf: Uint8Array;
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  readonly cls: number;
  readonly constructed: boolean;
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  /** For the indefinite form: where the end-of-contents octets start. */
  readonly contentEnd: number;
  readonly end: number;
}

function fail(): never {
  throw new DerError();
}

/**
 * Reads the element at `pos`, which must end by `limit`. `indefinite` allows the BER indefinite form for this
 * element and, to find where it ends, for the elements nested in it (the caller re-reads those strictly).
 */
export function readElement(
  buf: Uint8Array,
  pos: number,
  limit: number,
  indefinite = false,
  depth = 0,
): DerNode {
  let p = pos;
  const id = p < limit ? (buf[p++] ?? 0) : fail();
  if (id === 0) {
    fail(); // end-of-contents where an element is expected
  }
  const cls = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let n = 0; ; n++) {
      const b = p < limit ? (buf[p++] ?? 0) : fail();
      if (n === 4 || (n === 0 && b === 0x80)) {
        fail();
      }
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) {
        break;
      }
    }
    if (tag < 31) {
      fail();
    }
  }
  const first = p < limit ? (buf[p++] ?? 0) : fail();
  if (first === 0x80) {
    if (!indefinite || !constructed || depth >= MAX_DEPTH) {
      fail();
    }
    let q = p;
    for (;;) {
      if (q + 2 <= limit && buf[q] === 0 && buf[q + 1] === 0) {
        return {
          buf,
          cls,
          constructed,
          tag,
          start: pos,
          contentStart: p,
          contentEnd: q,
          end: q + 2,
        };
      }
      q = readElement(buf, q, limit, true, depth + 1).end;
    }
  }
  let length = first;
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 4 || first === 0xff || buf[p] === 0) {
      fail();
    }
    length = 0;
    for (let i = 0; i < n; i++) {
      length = length * 256 + (p < limit ? (buf[p++] ?? 0) : fail());
    }
    if (length < 0x80) {
      fail();
    }
  }
  if (length > limit - p) {
    fail();
  }
  return {
    buf,
    cls,
    constructed,
    tag,
    start: pos,
    contentStart: p,
    contentEnd: p + length,
    end: p + length,
  };
}

/** The one element that is all of `buf` (X.690 §10.2: no trailing bytes). */
export function readWhole(buf: Uint8Array, indefinite = false): DerNode {
  const node = readElement(buf, 0, buf.length, indefinite);
  return node.end === buf.length ? node : fail();
}

/** The elements inside a constructed element (at most `max`); `indefinite` as for {@link readElement}. */
export function childrenOf(node: DerNode, indefinite = false, max = MAX_CHILDREN): DerNode[] {
  if (!node.constructed) {
    fail();
  }
  const out: DerNode[] = [];
  for (let p = node.contentStart; p < node.contentEnd;) {
    if (out.length === max) {
      fail();
    }
    const child = readElement(node.buf, p, node.contentEnd, indefinite);
    out.push(child);
    p = child.end;
  }
  return out;
}

/** Checks class, form and tag, and returns the node (`constructed` undefined: either form). */
export function expectTag(
  node: DerNode | undefined,
  cls: number,
  tag: number,
  constructed?: boolean,
): DerNode {
  return node !== undefined &&
    node.cls === cls &&
    node.tag === tag &&
    (constructed === undefined || node.constructed === constructed)
    ? node
    : fail();
}

/** The node, if its length is definite (for elements inside an indefinite one that must not be). */
export function definite(node: DerNode): DerNode {
  return node.contentEnd === node.end ? node : fail();
}

/** True when `node` has this class and tag. */
export function isTag(node: DerNode | undefined, cls: number, tag: number): node is DerNode {
  return node !== undefined && node.cls === cls && node.tag === tag;
}

/** The content octets (a view, not a copy). */
export function contentOf(node: DerNode): Uint8Array {
  return node.buf.subarray(node.contentStart, node.contentEnd);
}

/** The whole encoding, identifier to end (a view, not a copy). */
export function encodingOf(node: DerNode): Uint8Array {
  return node.buf.subarray(node.start, node.end);
}

/** INTEGER content octets, minimal (X.690 §8.3.2). */
export function integerContent(node: DerNode): Uint8Array {
  const c = contentOf(expectTag(node, 0, 2, false));
  const [a = 0, b = 0] = c;
  if (c.length === 0 || (c.length > 1 && ((a === 0 && b < 0x80) || (a === 0xff && b >= 0x80)))) {
    fail();
  }
  return c;
}

/** A small non-negative INTEGER (a version number). */
export function smallInteger(node: DerNode): number {
  const c = integerContent(node);
  if (c.length > 4 || (c[0] ?? 0) >= 0x80) {
    fail();
  }
  return c.reduce((v, b) => v * 256 + b, 0);
}

/** OBJECT IDENTIFIER in dotted form (X.690 §8.19). */
export function oidOf(node: DerNode): string {
  const c = contentOf(expectTag(node, 0, 6, false));
  if (c.length === 0 || ((c[c.length - 1] ?? 0) & 0x80) !== 0) {
    fail();
  }
  // Arcs stay numbers while exact (below 2^52), else BigInt (UUID arcs under 2.25 have 128 bits).
  let text = '';
  let arc: number | bigint = 0;
  let atStart = true;
  for (const b of c) {
    if (atStart && b === 0x80) {
      fail();
    }
    const d = b & 0x7f;
    arc = typeof arc === 'number' && arc < 2 ** 45 ? arc * 128 + d : BigInt(arc) * 128n + BigInt(d);
    atStart = (b & 0x80) === 0;
    if (atStart) {
      text += text === '' ? firstArcs(arc) : `.${arc}`;
      arc = 0;
    }
  }
  return text;
}

/** X.690 §8.19.4: the first subidentifier is 40 × first arc + second arc (first arc 2 takes the rest). */
function firstArcs(v: number | bigint): string {
  if (typeof v === 'bigint') {
    return `2.${v - 80n}`;
  }
  return v < 80 ? `${Math.floor(v / 40)}.${v % 40}` : `2.${v - 80}`;
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/;

/**
 * UTCTime or GeneralizedTime in their DER forms (X.690 §11.7, §11.8: seconds present, `Z`, no trailing zeros
 * in a fraction); UTCTime years 50–99 are 19xx (RFC 5280 §4.1.2.5.1). Undefined for another type or a
 * malformed or impossible date.
 */
export function timeOf(node: DerNode): Date | undefined {
  if (node.cls !== 0 || node.constructed || (node.tag !== 23 && node.tag !== 24)) {
    return undefined;
  }
  const text = Buffer.from(contentOf(node)).toString('latin1');
  const m = (node.tag === 23 ? UTC_TIME : GENERALIZED_TIME).exec(text);
  if (m === null) {
    return undefined;
  }
  const [, y = '', mo = '', d = '', h = '', mi = '', s = '', frac = ''] = m;
  const year = node.tag === 23 ? (Number(y) < 50 ? 2000 : 1900) + Number(y) : Number(y);
  const ms = Math.floor(Number(`0.${frac || '0'}`) * 1000);
  const t = new Date(
    Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms),
  );
  t.setUTCFullYear(year); // Date.UTC maps years 0–99 to 19xx
  const exact =
    t.getUTCFullYear() === year &&
    t.getUTCMonth() === Number(mo) - 1 &&
    t.getUTCDate() === Number(d) &&
    t.getUTCHours() === Number(h) &&
    t.getUTCMinutes() === Number(mi) &&
    t.getUTCSeconds() === Number(s);
  return exact ? t : undefined;
}
