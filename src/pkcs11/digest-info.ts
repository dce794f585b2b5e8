/**
 * EMSA-PKCS1-v1_5 DigestInfo (RFC 8017 §9.2 note 1) for CKM_RSA_PKCS over pre-hashed input.
 */
import { createHash } from 'node:crypto';

const PREFIX = {
  'SHA-256': Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  'SHA-1': Buffer.from('3021300906052b0e03021a05000414', 'hex'),
} as const;

/**
 * DER DigestInfo of `data` hashed with `hash` (or of an existing digest with `prehashed: true`).
 *
 * @example
 * ```ts
 * const di = digestInfo('SHA-256', bytes); // sign with mechanism RSA_PKCS
 * ```
 */
export function digestInfo(
  hash: 'SHA-256' | 'SHA-1',
  data: Uint8Array,
  options: { prehashed?: boolean } = {},
): Uint8Array {
  const digest = options.prehashed
    ? Buffer.from(data)
    : createHash(hash === 'SHA-256' ? 'sha256' : 'sha1')
        .update(data)
        .digest();
  return new Uint8Array(Buffer.concat([PREFIX[hash], digest]));
}
