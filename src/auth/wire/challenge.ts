/**
 * The stateless authactivate challenge (docs/protocol/cis-login.md §1.2, §7).
 *
 * Rules this file enforces:
 * - Layout: 48 bytes = 20 random | 8-byte big-endian Unix-ms timestamp | 20 random. The real INT challenge
 *   has a timestamp at bytes 20–27 (§1.2, decoded); what the outer 40 bytes are is unknown, so ours are random.
 * - The server `signature` is base64(HMAC-SHA256(serverKey, challenge bytes)). HMAC rather than an RSA
 *   signature: only the server itself checks it, so a symmetric MAC is enough, keeps the server stateless
 *   (nothing to store between activate and validate) and is what §7 suggests. Clients treat it as opaque.
 * - Verification: MAC first (constant-time), then freshness on an injected clock: not older than `maxAgeMs`
 *   (default 5 min) and not more than `maxFutureMs` (default 30 s) ahead of the verifier's clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { wireError } from './errors.js';
import { strictBase64Decode } from './response.js';

export const CHALLENGE_LENGTH = 48;
export const DEFAULT_CHALLENGE_MAX_AGE_MS = 5 * 60_000;
export const DEFAULT_CHALLENGE_MAX_FUTURE_MS = 30_000;

/** A challenge as sent in the authactivate reply. */
export interface IssuedChallenge {
  /** base64 of the 48 bytes (the `challenge` param). */
  readonly challenge: string;
  /** base64 HMAC (the `signature` param). */
  readonly signature: string;
  readonly issuedAt: number;
}

/**
 * Compares two byte strings in time independent of their content (docs/style.md §27); different lengths are unequal.
 *
 * @example
 * ```ts
 * constantEquals(Buffer.from('a'), Buffer.from('a')); // true
 * ```
 */
export function constantEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

function mac(key: Uint8Array, bytes: Uint8Array): Buffer {
  return createHmac('sha256', key).update(bytes).digest();
}

/**
 * Makes a fresh challenge and its server signature.
 *
 * @example
 * ```ts
 * const { challenge, signature } = createChallenge(serverKey, Date.now());
 * ```
 */
export function createChallenge(key: Uint8Array, now: number): IssuedChallenge {
  const bytes = Buffer.alloc(CHALLENGE_LENGTH);
  randomBytes(20).copy(bytes, 0);
  bytes.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 20);
  randomBytes(20).copy(bytes, 28);
  return {
    challenge: bytes.toString('base64'),
    signature: mac(key, bytes).toString('base64'),
    issuedAt: Math.floor(now),
  };
}

/**
 * Reads the issue time (Unix ms) from challenge bytes 20–27.
 *
 * @example
 * ```ts
 * challengeTimestamp(Buffer.from('MlJN9BVjTdKtTpKrSz3Jvq0sONIAAAFc7yH6TYe8NK6GHS7F7t2tGnmcost76xk7', 'base64')); // 1498660600397
 * ```
 */
export function challengeTimestamp(bytes: Uint8Array): number {
  if (bytes.length !== CHALLENGE_LENGTH) {
    throw wireError('ERR_WIRE_CHALLENGE_MALFORMED', { detail: { reason: 'length' } });
  }
  return Number(Buffer.from(bytes).readBigUInt64BE(20));
}

/**
 * Checks an echoed challenge/signature pair. Returns the challenge bytes (what the card must have signed)
 * and the issue time; throws `ERR_WIRE_CHALLENGE_MALFORMED`, `ERR_WIRE_CHALLENGE_FORGED` or
 * `ERR_WIRE_CHALLENGE_STALE`.
 *
 * @example
 * ```ts
 * const { bytes } = verifyChallenge(serverKey, params.challenge, params.signature, { now: clock() });
 * ```
 */
export function verifyChallenge(
  key: Uint8Array,
  challenge: string,
  signature: string,
  options: { now: number; maxAgeMs?: number; maxFutureMs?: number },
): { bytes: Uint8Array; issuedAt: number } {
  const bytes = strictBase64Decode(challenge);
  if (!bytes || bytes.length !== CHALLENGE_LENGTH) {
    throw wireError('ERR_WIRE_CHALLENGE_MALFORMED', {
      detail: { reason: 'not 48 bytes of base64' },
    });
  }
  const given = strictBase64Decode(signature);
  if (!given || !constantEquals(given, mac(key, bytes))) {
    throw wireError('ERR_WIRE_CHALLENGE_FORGED');
  }
  const issuedAt = challengeTimestamp(bytes);
  const age = options.now - issuedAt;
  if (
    age > (options.maxAgeMs ?? DEFAULT_CHALLENGE_MAX_AGE_MS) ||
    -age > (options.maxFutureMs ?? DEFAULT_CHALLENGE_MAX_FUTURE_MS)
  ) {
    throw wireError('ERR_WIRE_CHALLENGE_STALE', { detail: { ageMs: age } });
  }
  return { bytes, issuedAt };
}
