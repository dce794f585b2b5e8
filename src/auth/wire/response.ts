/**
 * The authvalidate `response` parameter (docs/protocol/cis-login.md §1.3 step 5): base64 of an S/MIME-style header
 * block followed by the base64 of the CMS SignedData DER.
 *
 * Rules this file enforces:
 * - Encoding: `poc` reproduces the bytes the INT-tested PoC sent (8-space indents, single-line inner base64);
 *   `smime` is the standard form (no indents, inner base64 wrapped at 64 columns with LF), as the real IA
 *   probably sends (§1.3, [O]/[I]).
 * - Decoding accepts both, LF or CRLF, wrapped or unwrapped base64 at either level, any indentation; the
 *   header block ends at the first blank line. A header block is optional, and an outer base64 that decodes
 *   straight to DER (a SEQUENCE) is accepted as the CMS itself.
 * - Base64 is checked strictly (alphabet, padding, length), RFC 4648 §4, after removing whitespace.
 */
import { wireError } from './errors.js';

const HEADER_LINES = [
  'MIME-Version: 1.0',
  'Content-Disposition: attachment; filename="smime.p7m"',
  'Content-Type: application/x-pkcs7-mime; name="smime.p7m"',
  'Content-Transfer-Encoding: base64',
];

/** Upper bound on the `response` value. */
export const MAX_RESPONSE_LENGTH = 128 * 1024;

/**
 * Strict base64 (RFC 4648 §4) after removing ASCII whitespace; `undefined` when not valid.
 *
 * @example
 * ```ts
 * strictBase64Decode('TWFu\n'); // Uint8Array [77, 97, 110]
 * ```
 */
export function strictBase64Decode(text: string): Uint8Array | undefined {
  const compact = text.replace(/[\t\n\r ]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0) {
    return undefined;
  }
  if (!/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    return undefined;
  }
  const bytes = Buffer.from(compact, 'base64');
  // Reject non-canonical trailing bits (RFC 4648 §3.5), so that one byte string has one encoding.
  if (bytes.toString('base64') !== compact) {
    return undefined;
  }
  return new Uint8Array(bytes);
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) {
    lines.push(text.slice(i, i + width));
  }
  return lines.join('\n');
}

/**
 * Builds the `response` value from the CMS DER.
 *
 * @example
 * ```ts
 * const response = buildAuthResponse(cmsDer);            // PoC form (§1.3 step 5)
 * const standard = buildAuthResponse(cmsDer, 'smime');   // LF-wrapped S/MIME form
 * ```
 */
export function buildAuthResponse(cmsDer: Uint8Array, style: 'poc' | 'smime' = 'poc'): string {
  const inner = Buffer.from(cmsDer).toString('base64');
  const raw =
    style === 'poc'
      ? `${HEADER_LINES.join('\n        ')}\n        \n        ${inner}`
      : `${HEADER_LINES.join('\n')}\n\n${wrap(inner, 64)}\n`;
  return Buffer.from(raw, 'utf8').toString('base64');
}

/**
 * Decodes a `response` value to the CMS DER; throws `ERR_WIRE_RESPONSE_MALFORMED`.
 *
 * @example
 * ```ts
 * const der = decodeAuthResponse(params.get('response') ?? '');
 * ```
 */
export function decodeAuthResponse(value: string): Uint8Array {
  if (value.length > MAX_RESPONSE_LENGTH) {
    throw wireError('ERR_WIRE_RESPONSE_MALFORMED', { detail: { reason: 'too long' } });
  }
  const outer = strictBase64Decode(value);
  if (!outer) {
    throw wireError('ERR_WIRE_RESPONSE_MALFORMED', { detail: { reason: 'outer base64' } });
  }
  if (outer[0] === 0x30) {
    return outer;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(outer);
  } catch (cause) {
    throw wireError('ERR_WIRE_RESPONSE_MALFORMED', { cause, detail: { reason: 'not UTF-8' } });
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  let bodyStart = 0;
  if (lines.length > 0 && /^[A-Za-z][A-Za-z0-9-]*:/.test(lines[0] ?? '')) {
    const blank = lines.indexOf('');
    if (blank < 0) {
      throw wireError('ERR_WIRE_RESPONSE_MALFORMED', { detail: { reason: 'no end of headers' } });
    }
    const cte = lines.slice(0, blank).find((l) => /^content-transfer-encoding:/i.test(l));
    if (cte !== undefined && !/:\s*base64\s*$/i.test(cte)) {
      throw wireError('ERR_WIRE_RESPONSE_MALFORMED', {
        detail: { reason: 'not base64 transfer encoding' },
      });
    }
    bodyStart = blank + 1;
  }
  const der = strictBase64Decode(lines.slice(bodyStart).join(''));
  if (!der || der[0] !== 0x30) {
    throw wireError('ERR_WIRE_RESPONSE_MALFORMED', { detail: { reason: 'inner base64' } });
  }
  return der;
}
