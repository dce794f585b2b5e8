/**
 * PEM ⇄ DER (RFC 7468) with strict base64.
 *
 * Rules:
 * - RFC 7468 §2: one `-----BEGIN X-----` … `-----END X-----` block, the same label on both lines;
 * - RFC 7468 §3 / RFC 4648 §4: the body is the base64 alphabet only (line breaks and spaces between lines
 *   are tolerated), with correct `=` padding, and must re-encode to the same characters (no junk bits);
 * - text outside the block (explanatory text, RFC 7468 §5.2) is ignored.
 */
import { cmsError } from './errors.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END ([A-Z0-9 ]{1,40})-----/g;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function strictBase64(body: string): Uint8Array {
  const compact = body.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !B64.test(compact)) {
    throw cmsError('ERR_PEM_MALFORMED');
  }
  const bytes = Buffer.from(compact, 'base64');
  // Canonical check: non-zero padding bits or stray characters would not round-trip.
  if (bytes.toString('base64') !== compact) {
    throw cmsError('ERR_PEM_MALFORMED');
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Every PEM block in `text` whose label is one of `labels` (all blocks when `labels` is empty), in order.
 *
 * @example
 * ```ts
 * const [leaf, ...chain] = pemBlocks(readFileSync('chain.pem', 'utf8'), ['CERTIFICATE']);
 * ```
 */
export function pemBlocks(text: string, labels: readonly string[] = []): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m;
    if (begin === undefined || body === undefined || begin !== end) {
      throw cmsError('ERR_PEM_MALFORMED');
    }
    if (labels.length === 0 || labels.includes(begin)) {
      out.push(strictBase64(body));
    }
  }
  return out;
}

/**
 * The DER of the first PEM block with one of `labels`; throws `ERR_PEM_MALFORMED` if there is none.
 *
 * @example
 * ```ts
 * const der = pemToDer(pemText, ['CERTIFICATE']);
 * ```
 */
export function pemToDer(text: string, labels: readonly string[] = []): Uint8Array {
  const first = pemBlocks(text, labels)[0];
  if (first === undefined) {
    throw cmsError('ERR_PEM_MALFORMED');
  }
  return first;
}

/**
 * PEM text for `der` with the given label, base64 wrapped at 64 characters (RFC 7468 §2).
 *
 * @example
 * ```ts
 * derToPem(certDer, 'CERTIFICATE'); // "-----BEGIN CERTIFICATE-----\nMII…"
 * ```
 */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** True when `input` looks like PEM text (starts with `-----BEGIN` after optional whitespace). */
export function looksLikePem(input: Uint8Array): boolean {
  let i = 0;
  while (
    i < input.length &&
    (input[i] === 0x20 || input[i] === 0x0a || input[i] === 0x0d || input[i] === 0x09)
  ) {
    i++;
  }
  return Buffer.from(input.subarray(i, i + 10)).toString('latin1') === '-----BEGIN';
}
