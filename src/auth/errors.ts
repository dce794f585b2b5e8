/**
 * The agent's login and Ticket API error codes. Each carries the name and value of the CIS Ticket API error it
 * corresponds to (docs/protocol/cis-login.md §4), so that integrators recognise them.
 */
import { fromTable, type ErrorTable, type ServiceError } from '../errors.js';

export type AuthErrorCode =
  | 'ERR_TICKET_NOT_AVAILABLE'
  | 'ERR_AUTHENTICATION_FAILED'
  | 'ERR_AUTHSERVER_NOT_AVAILABLE'
  | 'ERR_AUTHDATA_SYNTAX_ERROR'
  | 'ERR_USER_NOT_VALID'
  | 'ERR_USER_ABORT'
  | 'ERR_NO_CERT_FOUND'
  | 'ERR_NO_ROLES'
  | 'ERR_ROLE_REQUIRED'
  | 'ERR_ROLE_UNKNOWN'
  | 'ERR_LOGIN_IN_PROGRESS'
  | 'ERR_SMARTCARD_NOT_PRESENT';

export const AUTH_ERRORS: ErrorTable<AuthErrorCode> = {
  ERR_TICKET_NOT_AVAILABLE: {
    status: 404,
    message: 'no ticket is available: no one is logged in',
    fix: 'Insert the smartcard and log in (rxsign login, or the agent page), or call getTicket to start a login.',
  },
  ERR_AUTHENTICATION_FAILED: {
    status: 401,
    message: 'the Spine Security Broker rejected the login',
    fix: 'Check that the card’s certificates are valid and registered for this user; see the agent log for the broker’s reason.',
  },
  ERR_AUTHSERVER_NOT_AVAILABLE: {
    status: 503,
    message: 'the Spine Security Broker is not reachable or did not answer in time',
    fix: 'Check the network and RXSIGN_SSB_URL; the agent retried where it was safe to.',
  },
  ERR_AUTHDATA_SYNTAX_ERROR: {
    status: 502,
    message: 'the Spine Security Broker answered with something that is not a valid reply',
    fix: 'Check RXSIGN_SSB_URL points at a Spine Security Broker (or the simulator).',
  },
  ERR_USER_NOT_VALID: {
    status: 403,
    message: 'the Spine Security Broker does not know this user',
    fix: 'Ask your Registration Authority to check your Care Identity profile.',
  },
  ERR_USER_ABORT: {
    status: 499,
    message: 'the login was cancelled',
    fix: 'Start the login again.',
  },
  ERR_NO_CERT_FOUND: {
    status: 422,
    message: 'the card has no authentication certificate with a private key',
    fix: 'Run `rxsign tokens` to see what the card holds.',
  },
  ERR_NO_ROLES: {
    status: 403,
    message: 'the user has no roles: no session can be used',
    fix: 'Ask your Registration Authority to assign a role to your profile.',
  },
  ERR_ROLE_REQUIRED: {
    status: 409,
    message: 'a role must be selected before the ticket is released',
    fix: 'Choose one of the session’s roles (POST /api/v1/role, or rxsign login --role ID).',
  },
  ERR_ROLE_UNKNOWN: {
    status: 400,
    message: 'that role is not one of the session’s roles',
    fix: 'Use a role id from the session status.',
  },
  ERR_LOGIN_IN_PROGRESS: {
    status: 409,
    message: 'a login is already in progress',
    fix: 'Wait for it to finish, or cancel it.',
  },
  ERR_SMARTCARD_NOT_PRESENT: {
    status: 409,
    message: 'no smartcard is inserted',
    fix: 'Insert your smartcard.',
  },
};

/** Ticket API names and values (TicketApiDll: group | n). */
export const TICKET_API: Readonly<Record<string, { name: string; value: string }>> = {
  ERR_TICKET_NOT_AVAILABLE: { name: 'TICKET_NOT_AVAILABLE', value: '0x80100009' },
  ERR_AUTHSERVER_NOT_AVAILABLE: { name: 'AUTHSERVER_NOT_AVAILABLE', value: '0x80400005' },
  ERR_AUTHENTICATION_FAILED: { name: 'AUTHENTICATION_FAILED', value: '0x80400002' },
  ERR_AUTHDATA_SYNTAX_ERROR: { name: 'AUTHDATA_SYNTAX_ERROR', value: '0x80400006' },
  ERR_USER_NOT_VALID: { name: 'USER_NOT_VALID', value: '0x80400004' },
  ERR_USER_ABORT: { name: 'USER_ABORT', value: '0x80400001' },
  ERR_NO_CERT_FOUND: { name: 'NO_CERT_FOUND', value: '0x80200006' },
  ERR_NO_ROLES: { name: 'AUTHENTICATION_NOT_POSSIBLE', value: '0x80400003' },
  ERR_ROLE_REQUIRED: { name: 'TICKET_NOT_AVAILABLE', value: '0x80100009' },
  ERR_ROLE_UNKNOWN: { name: 'INVALID_PARAMETER', value: '0x80100003' },
  ERR_LOGIN_IN_PROGRESS: { name: 'SERVER_BUSY', value: '0x80100006' },
  ERR_SMARTCARD_NOT_PRESENT: { name: 'READER_NOT_AVAILABLE', value: '0x80200002' },
  ERR_PKCS11_PIN_LOCKED: { name: 'PIN_BLOCKED', value: '0x80200004' },
  ERR_PKCS11_PIN_INCORRECT: { name: 'AUTHENTICATION_FAILED', value: '0x80400002' },
  ERR_PKCS11_PIN_COUNT_LOW: { name: 'AUTHENTICATION_FAILED', value: '0x80400002' },
  ERR_PKCS11_PIN_FINAL_TRY: { name: 'AUTHENTICATION_FAILED', value: '0x80400002' },
  ERR_PKCS11_PIN_EXPIRED: { name: 'AUTHENTICATION_FAILED', value: '0x80400002' },
  ERR_PKCS11_CARD_REMOVED: { name: 'CARD_TRANSACTION_FAILED', value: '0x80200005' },
  ERR_PKCS11_TOKEN_NOT_FOUND: { name: 'READER_NOT_AVAILABLE', value: '0x80200002' },
};

export function authError(
  code: AuthErrorCode,
  options: { cause?: unknown; detail?: Record<string, unknown> } = {},
): ServiceError<AuthErrorCode> {
  return fromTable(AUTH_ERRORS, code, options);
}
