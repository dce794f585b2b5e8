/**
 * Small DER helpers shared by the cms files (internal; not part of the public API).
 *
 * Rules:
 * - X.690 §10: a DER object must be decoded completely; trailing bytes make the input malformed.
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

/** X.690 §8.1.3 definite length octets. */
function lengthOctets(n: number): Uint8Array {
  if (n < 0x80) {
    return Uint8Array.of(n);
  }
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) {
    bytes.unshift(v & 0xff);
  }
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** DER TLV with a one-byte tag around the concatenated parts. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return Buffer.concat([Uint8Array.of(tag), lengthOctets(body.length), body]);
}

/** DER SET OF: elements sorted by their encodings (X.690 §11.6). */
export function derSetOf(elements: readonly Uint8Array[]): Uint8Array {
  return tlv(0x31, ...[...elements].sort((a, b) => Buffer.compare(a, b)));
}
