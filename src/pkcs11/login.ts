/**
 * Login on an open token: C_Login with the PIN, C_Logout, the session's login state, and what a refused PIN
 * means. driver.ts calls these as barriers (never beside a C_Sign) on the token's main session.
 *
 * Rules:
 * - a PIN is tried exactly once (never retried on the user's behalf) and never stored;
 * - CKR_USER_ALREADY_LOGGED_IN is not trusted as proof of the PIN: login logs out and in again (PIN-per-signature
 *   policies rely on that);
 * - the login state is asked of the module (C_GetSessionInfo) every time: another application may have logged
 *   the token in or out, and graphene caches the state at open;
 * - login and logout forget the lanes' key handles (lanes.ts);
 * - the error says what the card's flags say after the refusal (locked, final try, count low), so that the
 *   user is warned before the card locks; a card that reports CKR_PIN_LOCKED is locked whatever its flags.
 */
import * as graphene from 'graphene-pk11';
import type { ServiceError } from '../errors.js';
import * as pkcs11js from './constants.js';
import { ckrName, mapPkcs11Error, pkcs11Error, type Pkcs11ErrorCode } from './errors.js';
import type { OpenToken } from './lanes.js';
import { tokenInfoOf } from './slot-scan.js';
import type { LoginState, TokenFlags } from './types.js';

/**
 * Whether the session is logged in (CKS_RO_USER_FUNCTIONS or CKS_RW_USER_FUNCTIONS), asked of the module.
 *
 * @example
 * ```ts
 * o.loggedIn = isLoggedIn(o.session);
 * ```
 */
export function isLoggedIn(session: graphene.Session): boolean {
  const state = session.lib.C_GetSessionInfo(session.handle).state;
  return state === pkcs11js.CKS_RO_USER_FUNCTIONS || state === pkcs11js.CKS_RW_USER_FUNCTIONS;
}

/**
 * The token's login state as the module reports it now; the open token's flag follows it.
 *
 * @example
 * ```ts
 * readLoginState(o); // 'logged-in'
 * ```
 */
export function readLoginState(o: OpenToken): LoginState {
  o.loggedIn = isLoggedIn(o.session);
  return o.loggedIn ? 'logged-in' : 'logged-out';
}

/**
 * C_Login(CKU_USER) with the PIN, exactly once, after logging out a login already there. On
 * CKR_PIN_INCORRECT the token flags choose between incorrect / count low / final try / locked
 * ({@link pinError}); any other failure is thrown as it came.
 *
 * @example
 * ```ts
 * logIn(o, pin); // o.loggedIn is now true
 * ```
 */
export function logIn(o: OpenToken, pin: string): void {
  if (o.loggedIn || isLoggedIn(o.session)) {
    logOut(o);
  }
  try {
    o.session.login(pin, graphene.UserType.USER);
  } catch (cause) {
    const err = mapPkcs11Error(cause);
    if (err.code === 'ERR_PKCS11_PIN_INCORRECT' || err.code === 'ERR_PKCS11_PIN_LOCKED') {
      throw pinError(flagsNow(o), cause);
    }
    if (err.code === 'ERR_PKCS11_INTERNAL' && ckrName(cause) === 'CKR_USER_ALREADY_LOGGED_IN') {
      o.loggedIn = true;
      return;
    }
    throw cause;
  }
  o.loggedIn = true;
}

/**
 * C_Logout on the token, tolerant of a login that is already over; the lanes forget their key handles.
 *
 * @example
 * ```ts
 * logOut(o); // o.loggedIn is now false
 * ```
 */
export function logOut(o: OpenToken): void {
  try {
    o.session.logout();
  } catch {
    // not logged in, or the card has gone: either way the login is over
  }
  o.loggedIn = false;
  for (const lane of o.lanes) {
    lane.keys.clear();
  }
}

/** The token's flags as the card reports them now, or the last ones seen if it cannot be read. */
function flagsNow(o: OpenToken): TokenFlags {
  try {
    return tokenInfoOf(o.slot).flags;
  } catch {
    return o.info.flags;
  }
}

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
