/**
 * Small DER helpers shared by the cms files (internal; not part of the public API), and the one DER writer.
 *
 * Rules:
 * - X.690 §10: a DER object must be decoded completely; trailing bytes make the input malformed.
 * - The writer (`node`/`encode`, and `tlv`/`derSetOf` over them) knows every length before it writes
 *   (X.690 §8.1.3 definite lengths, the shortest form), so a SignedData is one allocation with each piece
 *   copied once; a SET OF is sorted by encoding (X.690 §11.6).
 */
import * as asn1js from 'asn1js';

/** Decodes one complete BER/DER object, or undefined when the bytes are not exactly one object. */
export function decodeWhole(bytes: Uint8Array): asn1js.AsnType | undefined {
  if (bytes.length === 0) {
    return undefined;
  }
  let res: ReturnType<typeof asn1js.fromBER>;
  try {
    res = asn1js.fromBER(bytes);
  } catch {
    return undefined; // asn1js throws (not offset -1) for some malformed contents, e.g. a GeneralizedTime
  }
  if (res.offset === -1 || res.offset !== bytes.length) {
    return undefined;
  }
  return res.result;
}

export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('hex');
}

export function bytesOf(buf: ArrayBuffer | Uint8Array): Uint8Array {
  return buf instanceof Uint8Array ? buf : new Uint8Array(buf);
}

/**
 * Serial number as lower-case hex of its unsigned magnitude: the sign-padding 00 byte that DER adds to
 * a serial whose first bit is set is dropped, other leading zeros are kept, so that a certificate and a
 * CRL entry always give the same string and `openssl x509 -serial` matches case-insensitively.
 */
export function serialHex(content: Uint8Array): string {
  let start = 0;
  while (
    start < content.length - 1 &&
    content[start] === 0 &&
    ((content[start + 1] ?? 0) & 0x80) !== 0
  ) {
    start++;
  }
  return toHex(content.subarray(start));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A DER TLV whose length is known before anything is written: constant pieces stay as they are. */
export interface DerNode {
  readonly tag: number;
  readonly parts: readonly (Uint8Array | DerNode)[];
  readonly length: number;
  readonly size: number;
}

/** X.690 §8.1.3 definite length: octets for a length of `n` (short form, or 0x8k and k octets). */
function lengthSize(n: number): number {
  if (n < 0x80) {
    return 1;
  }
  let octets = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) {
    octets += 1;
  }
  return 1 + octets;
}

export function node(tag: number, ...parts: (Uint8Array | DerNode)[]): DerNode {
  const length = parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.length : p.size), 0);
  return { tag, parts, length, size: 1 + lengthSize(length) + length };
}

function writeNode(n: DerNode, out: Uint8Array, start: number): number {
  let at = start;
  out[at++] = n.tag;
  const lengthOctets = lengthSize(n.length);
  if (lengthOctets === 1) {
    out[at++] = n.length;
  } else {
    out[at++] = 0x80 | (lengthOctets - 1);
    for (let i = lengthOctets - 2, v = n.length; i >= 0; i--, v = Math.floor(v / 256)) {
      out[at + i] = v & 0xff;
    }
    at += lengthOctets - 1;
  }
  for (const p of n.parts) {
    if (p instanceof Uint8Array) {
      out.set(p, at);
      at += p.length;
    } else {
      at = writeNode(p, out, at);
    }
  }
  return at;
}

/** Writes a tree of nodes: one allocation, each piece copied once. */
export function encode(root: DerNode): Uint8Array {
  const out = Buffer.alloc(root.size);
  writeNode(root, out, 0);
  return out;
}

/** DER TLV with a one-byte tag around the concatenated parts. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  return encode(node(tag, ...parts));
}

/** DER SET OF: elements sorted by their encodings (X.690 §11.6). */
export function derSetOf(elements: readonly Uint8Array[]): Uint8Array {
  return tlv(0x31, ...[...elements].sort((a, b) => Buffer.compare(a, b)));
}
