/**
 * The token layer's error codes, and the one table that maps PKCS#11 return values (CKR_*) to them.
 * The original pkcs11js/graphene error is kept as `cause` (its text names the CKR value, never a PIN).
 */
import { errorFactory, ServiceError, type ErrorTable } from '../errors.js';

export type Pkcs11ErrorCode =
  | 'ERR_PKCS11_MODULE_NOT_FOUND'
  | 'ERR_PKCS11_MODULE_LOAD_FAILED'
  | 'ERR_PKCS11_TOKEN_NOT_FOUND'
  | 'ERR_PKCS11_PIN_INCORRECT'
  | 'ERR_PKCS11_PIN_COUNT_LOW'
  | 'ERR_PKCS11_PIN_FINAL_TRY'
  | 'ERR_PKCS11_PIN_LOCKED'
  | 'ERR_PKCS11_PIN_EXPIRED'
  | 'ERR_PKCS11_PIN_FORMAT'
  | 'ERR_PKCS11_NOT_LOGGED_IN'
  | 'ERR_PKCS11_CARD_REMOVED'
  | 'ERR_PKCS11_DEVICE_ERROR'
  | 'ERR_PKCS11_KEY_NOT_FOUND'
  | 'ERR_PKCS11_MECHANISM_NOT_ALLOWED'
  | 'ERR_PKCS11_MECHANISM_NOT_SUPPORTED'
  | 'ERR_PKCS11_DATA_INVALID'
  | 'ERR_PKCS11_CANCELLED'
  | 'ERR_PKCS11_BUSY'
  | 'ERR_PKCS11_TIMEOUT'
  | 'ERR_PKCS11_SHUTDOWN'
  | 'ERR_PKCS11_INTERNAL';

export const PKCS11_ERRORS: ErrorTable<Pkcs11ErrorCode> = {
  ERR_PKCS11_MODULE_NOT_FOUND: {
    status: 503,
    message: 'the PKCS#11 module file does not exist',
    fix: 'Install the card middleware, or pass the right path with --module / RXSIGN_MODULE.',
  },
  ERR_PKCS11_MODULE_LOAD_FAILED: {
    status: 503,
    message: 'the PKCS#11 module could not be loaded or initialised',
    fix: 'Check that the file is a PKCS#11 module for this architecture and that its own configuration (e.g. SOFTHSM2_CONF) is readable.',
  },
  ERR_PKCS11_TOKEN_NOT_FOUND: {
    status: 404,
    message: 'no card with that label or serial is present',
    fix: 'Insert the card; run `rxsign tokens` to see the labels and serials the module reports.',
  },
  ERR_PKCS11_PIN_INCORRECT: {
    status: 401,
    message: 'the PIN is incorrect',
    fix: 'Enter the card PIN again. rxsign never retries a PIN for you.',
  },
  ERR_PKCS11_PIN_COUNT_LOW: {
    status: 401,
    message: 'the PIN is incorrect; the card reports few tries left',
    fix: 'Take care: the card locks after a few more wrong PINs.',
  },
  ERR_PKCS11_PIN_FINAL_TRY: {
    status: 401,
    message: 'the PIN is incorrect; one try is left before the card locks',
    fix: 'Only try again if you are sure of the PIN; otherwise ask your Registration Authority to unlock the card.',
  },
  ERR_PKCS11_PIN_LOCKED: {
    status: 423,
    message: 'the card is locked (PIN blocked)',
    fix: 'Unlock the card through self-service unlock or your Registration Authority.',
  },
  ERR_PKCS11_PIN_EXPIRED: {
    status: 401,
    message: 'the PIN has expired and must be changed',
    fix: 'Change the PIN with the card issuer’s tools, then sign in again.',
  },
  ERR_PKCS11_PIN_FORMAT: {
    status: 400,
    message: 'the PIN does not have a valid length or format for this card',
    fix: 'Card PINs are usually 4 to 8 digits (NHS cards: 6 to 8).',
  },
  ERR_PKCS11_NOT_LOGGED_IN: {
    status: 401,
    message: 'the card is not logged in',
    fix: 'Log in with the card PIN first.',
  },
  ERR_PKCS11_CARD_REMOVED: {
    status: 409,
    message: 'the card was removed',
    fix: 'Insert the card again and repeat the operation.',
  },
  ERR_PKCS11_DEVICE_ERROR: {
    status: 503,
    message: 'the card or reader reported a device error',
    fix: 'Re-seat the card and check the reader; see the log for the PKCS#11 return value.',
  },
  ERR_PKCS11_KEY_NOT_FOUND: {
    status: 404,
    message: 'no private key with that id is on the card',
    fix: 'Run `rxsign tokens` to list the certificates and key ids on the card.',
  },
  ERR_PKCS11_MECHANISM_NOT_ALLOWED: {
    status: 400,
    message: 'that signing mechanism is not allowed',
    fix: 'Use SHA256_RSA_PKCS, SHA1_RSA_PKCS or RSA_PKCS, or add the mechanism to the configured allowlist.',
  },
  ERR_PKCS11_MECHANISM_NOT_SUPPORTED: {
    status: 400,
    message: 'the card does not support that signing mechanism',
    fix: 'Choose a mechanism listed for the card by `pkcs11-tool --list-mechanisms`.',
  },
  ERR_PKCS11_DATA_INVALID: {
    status: 400,
    message: 'the data to sign is not valid for that mechanism',
    fix: 'RSA_PKCS takes a DER DigestInfo no longer than the key size allows.',
  },
  ERR_PKCS11_CANCELLED: {
    status: 499,
    message: 'the operation was cancelled at the card',
    fix: 'Repeat the operation.',
  },
  ERR_PKCS11_BUSY: {
    status: 503,
    message: 'the card has no free session',
    fix: 'Close other applications that use the card, then try again.',
  },
  ERR_PKCS11_TIMEOUT: {
    status: 504,
    message: 'the card did not answer in time',
    fix: 'Check the reader; a PIN pad may be waiting for input.',
  },
  ERR_PKCS11_SHUTDOWN: {
    status: 503,
    message: 'the token layer is shutting down',
    fix: 'Start the service again.',
  },
  ERR_PKCS11_INTERNAL: {
    status: 500,
    message: 'the PKCS#11 module returned an unexpected error',
    fix: 'See the log for the PKCS#11 return value and report it with the module name.',
  },
};

/**
 * Builds a token-layer error from {@link PKCS11_ERRORS}.
 *
 * @example
 * ```ts
 * throw pkcs11Error('ERR_PKCS11_TOKEN_NOT_FOUND', { detail: { label } });
 * ```
 */
export const pkcs11Error = errorFactory(PKCS11_ERRORS);

/**
 * CKR_* names to our codes. Removal-like values all become ERR_PKCS11_CARD_REMOVED (PKCS#11 v2.40 §5.1.x:
 * DEVICE_REMOVED during a call, SESSION_HANDLE_INVALID / SESSION_CLOSED after the token went, TOKEN_NOT_PRESENT
 * for a later call); the layer then drops the login and fails pending work.
 */
const CKR_TABLE: Readonly<Record<string, Pkcs11ErrorCode>> = {
  CKR_PIN_INCORRECT: 'ERR_PKCS11_PIN_INCORRECT',
  CKR_PIN_LOCKED: 'ERR_PKCS11_PIN_LOCKED',
  CKR_PIN_EXPIRED: 'ERR_PKCS11_PIN_EXPIRED',
  CKR_PIN_INVALID: 'ERR_PKCS11_PIN_FORMAT',
  CKR_PIN_LEN_RANGE: 'ERR_PKCS11_PIN_FORMAT',
  CKR_USER_NOT_LOGGED_IN: 'ERR_PKCS11_NOT_LOGGED_IN',
  CKR_USER_PIN_NOT_INITIALIZED: 'ERR_PKCS11_NOT_LOGGED_IN',
  CKR_DEVICE_REMOVED: 'ERR_PKCS11_CARD_REMOVED',
  CKR_TOKEN_NOT_PRESENT: 'ERR_PKCS11_CARD_REMOVED',
  CKR_TOKEN_NOT_RECOGNIZED: 'ERR_PKCS11_CARD_REMOVED',
  CKR_SESSION_HANDLE_INVALID: 'ERR_PKCS11_CARD_REMOVED',
  CKR_SESSION_CLOSED: 'ERR_PKCS11_CARD_REMOVED',
  CKR_SLOT_ID_INVALID: 'ERR_PKCS11_CARD_REMOVED',
  CKR_DEVICE_ERROR: 'ERR_PKCS11_DEVICE_ERROR',
  CKR_DEVICE_MEMORY: 'ERR_PKCS11_DEVICE_ERROR',
  CKR_GENERAL_ERROR: 'ERR_PKCS11_DEVICE_ERROR',
  CKR_KEY_HANDLE_INVALID: 'ERR_PKCS11_KEY_NOT_FOUND',
  CKR_OBJECT_HANDLE_INVALID: 'ERR_PKCS11_KEY_NOT_FOUND',
  CKR_KEY_TYPE_INCONSISTENT: 'ERR_PKCS11_MECHANISM_NOT_SUPPORTED',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'ERR_PKCS11_MECHANISM_NOT_SUPPORTED',
  CKR_MECHANISM_INVALID: 'ERR_PKCS11_MECHANISM_NOT_SUPPORTED',
  CKR_MECHANISM_PARAM_INVALID: 'ERR_PKCS11_MECHANISM_NOT_SUPPORTED',
  CKR_DATA_INVALID: 'ERR_PKCS11_DATA_INVALID',
  CKR_DATA_LEN_RANGE: 'ERR_PKCS11_DATA_INVALID',
  CKR_FUNCTION_CANCELED: 'ERR_PKCS11_CANCELLED',
  CKR_SESSION_COUNT: 'ERR_PKCS11_BUSY',
};

/** Codes after which the layer treats the card as gone. */
export const CARD_GONE_CODES: ReadonlySet<string> = new Set([
  'ERR_PKCS11_CARD_REMOVED',
  'ERR_PKCS11_DEVICE_ERROR',
]);

/** Reads the CKR_* name out of a pkcs11js/graphene error ("CKR_PIN_INCORRECT:160", or a `code` number). */
export function ckrName(err: unknown): string | undefined {
  if (err instanceof Error) {
    const m = /\b(CKR_[A-Z_]+)\b/.exec(err.message);
    if (m?.[1]) {
      return m[1];
    }
  }
  return undefined;
}

/**
 * Maps a PKCS#11 failure to our typed error, keeping the original as `cause`.
 *
 * @example
 * ```ts
 * try { session.login(pin); } catch (e) { throw mapPkcs11Error(e); }
 * ```
 */
export function mapPkcs11Error(err: unknown): ServiceError<Pkcs11ErrorCode> {
  if (err instanceof ServiceError && err.code in PKCS11_ERRORS) {
    return err as ServiceError<Pkcs11ErrorCode>;
  }
  const name = ckrName(err);
  const code = (name && CKR_TABLE[name]) || 'ERR_PKCS11_INTERNAL';
  return pkcs11Error(code, { cause: err, detail: name ? { ckr: name } : {} });
}
