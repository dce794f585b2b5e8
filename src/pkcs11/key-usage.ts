/**
 * Reads the keyUsage extension (RFC 5280 §4.2.1.3) out of a DER certificate, so that the token layer can tell
 * an authentication certificate from a non-repudiation one without depending on the CMS folder.
 *
 * A deliberately small DER walker: it reads only the TLV structure down to tbsCertificate.extensions and
 * fails closed (no usages) on anything it does not understand.
 */
import type { CertificatePurpose } from './types.js';

const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

const OID_KEY_USAGE = Buffer.from([0x55, 0x1d, 0x0f]); // 2.5.29.15

interface Tlv {
  tag: number;
  start: number; // of the value
  end: number; // exclusive
  next: number; // offset after this TLV
}

function readTlv(buf: Uint8Array, off: number, limit: number): Tlv | undefined {
  if (off + 2 > limit) {
    return undefined;
  }
  const tag = buf[off] ?? 0;
  let len = buf[off + 1] ?? 0;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) {
      return undefined;
    }
    len = 0;
    for (let i = 0; i < n; i++) {
      len = len * 256 + (buf[p + i] ?? 0);
    }
    p += n;
  }
  if (p + len > limit) {
    return undefined;
  }
  return { tag, start: p, end: p + len, next: p + len };
}

function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = parent.start;
  while (off < parent.end) {
    const t = readTlv(buf, off, parent.end);
    if (!t) {
      return out;
    }
    out.push(t);
    off = t.next;
  }
  return out;
}

/**
 * The keyUsage bit names of a DER certificate (empty when absent or unreadable).
 *
 * @example
 * ```ts
 * keyUsageOf(der); // ['nonRepudiation']
 * ```
 */
export function keyUsageOf(der: Uint8Array): string[] {
  const cert = readTlv(der, 0, der.length);
  if (!cert || cert.tag !== 0x30) {
    return [];
  }
  const tbs = children(der, cert)[0];
  if (!tbs || tbs.tag !== 0x30) {
    return [];
  }
  const extsWrapper = children(der, tbs).find((t) => t.tag === 0xa3);
  if (!extsWrapper) {
    return [];
  }
  const exts = children(der, extsWrapper)[0];
  if (!exts) {
    return [];
  }
  for (const ext of children(der, exts)) {
    const parts = children(der, ext);
    const oid = parts[0];
    if (
      !oid ||
      oid.tag !== 0x06 ||
      !Buffer.from(der.subarray(oid.start, oid.end)).equals(OID_KEY_USAGE)
    ) {
      continue;
    }
    const value = parts[parts.length - 1];
    if (!value || value.tag !== 0x04) {
      return [];
    }
    const bits = readTlv(der, value.start, value.end);
    if (!bits || bits.tag !== 0x03 || bits.end - bits.start < 1) {
      return [];
    }
    const names: string[] = [];
    const bytes = der.subarray(bits.start + 1, bits.end);
    KEY_USAGE_NAMES.forEach((name, i) => {
      const byte = bytes[i >> 3] ?? 0;
      if (byte & (0x80 >> (i & 7))) {
        names.push(name);
      }
    });
    return names;
  }
  return [];
}

/**
 * Classifies a card certificate: non-repudiation (content commitment, prescription signing) wins over
 * digitalSignature (authentication to the Spine Security Broker).
 *
 * @example
 * ```ts
 * purposeOf(['nonRepudiation']); // 'non-repudiation'
 * ```
 */
export function purposeOf(keyUsage: readonly string[]): CertificatePurpose {
  if (keyUsage.includes('nonRepudiation')) {
    return 'non-repudiation';
  }
  if (keyUsage.includes('digitalSignature')) {
    return 'authentication';
  }
  return 'other';
}
