/**
 * Login: what a refused PIN means. Part of the token bookkeeping over graphene-pk11 (driver.ts runs the login
 * itself, once, as a barrier).
 *
 * Rules:
 * - a PIN is tried exactly once (never retried on the user's behalf) and never stored;
 * - the error says what the card's flags say after the refusal (locked, final try, count low), so that the
 *   user is warned before the card locks; a card that reports CKR_PIN_LOCKED is locked whatever its flags.
 */
import type { ServiceError } from '../errors.js';
import { ckrName, pkcs11Error, type Pkcs11ErrorCode } from './errors.js';
import type { TokenFlags } from './types.js';

/**
 * The error for a refused PIN, from the token's flags read after the refusal and the library error.
 *
 * @example
 * ```ts
 * pinError({ ...flags, userPinFinalTry: true }, cause).code; // 'ERR_PKCS11_PIN_FINAL_TRY'
 * ```
 */
export function pinError(flags: TokenFlags, cause: unknown): ServiceError<Pkcs11ErrorCode> {
  if (flags.userPinLocked || ckrName(cause) === 'CKR_PIN_LOCKED') {
    return pkcs11Error('ERR_PKCS11_PIN_LOCKED', { cause });
  }
  if (flags.userPinFinalTry) {
    return pkcs11Error('ERR_PKCS11_PIN_FINAL_TRY', { cause });
  }
  if (flags.userPinCountLow) {
    return pkcs11Error('ERR_PKCS11_PIN_COUNT_LOW', { cause });
  }
  return pkcs11Error('ERR_PKCS11_PIN_INCORRECT', { cause });
}
