/**
 * Error codes of the CIS2 authentication simulator.
 *
 * - {@link CIS2_SIM_ERRORS}: `ServiceError` codes for its configuration (clients file). Messages name the entry
 *   and the field, never a secret.
 * - {@link CARD_REFUSALS}: why a card assertion was refused. The simulator ends the sign-in with the OAuth
 *   error `access_denied` (OpenID Connect Core §3.1.2.6) whose `error_description` starts with the code, so a
 *   relying party sees the same shape as any refused CIS2 sign-in (docs/cis2-sign-in.md lists the codes).
 */
import { errorFactory, type ErrorTable } from '../errors.js';
import type { CertificateRefusalCode } from '../spine-sim/index.js';

export type Cis2SimErrorCode = 'ERR_CIS2_SIM_CLIENTS_UNREADABLE' | 'ERR_CIS2_SIM_CLIENTS_INVALID';

export const CIS2_SIM_ERRORS: ErrorTable<Cis2SimErrorCode> = {
  ERR_CIS2_SIM_CLIENTS_UNREADABLE: {
    status: 500,
    message: 'the clients file cannot be read or is not JSON',
    fix: 'Pass --clients with a readable JSON file (see docs/cis2-sign-in.md).',
  },
  ERR_CIS2_SIM_CLIENTS_INVALID: {
    status: 500,
    message: 'the clients file does not match the schema',
    fix: 'Fix the entry and field named in the error (docs/cis2-sign-in.md lists the fields).',
  },
};

/**
 * Builds a configuration error.
 *
 * @example
 * ```ts
 * throw cis2SimError('ERR_CIS2_SIM_CLIENTS_UNREADABLE', { cause });
 * ```
 */
export const cis2SimError = errorFactory(CIS2_SIM_ERRORS);

export type CardRefusalCode =
  | 'MALFORMED_ASSERTION'
  | 'BAD_SIGNATURE'
  | 'NONCE_MISMATCH'
  | 'AUDIENCE_MISMATCH'
  | 'ORIGIN_MISMATCH'
  | 'ASSERTION_EXPIRED'
  | 'FRESH_LOGIN_REQUIRED'
  | CertificateRefusalCode
  | 'UID_MISMATCH'
  | 'UNKNOWN_USER'
  | 'ROLE_UNKNOWN';

/** The fixed description that follows the code in `error_description`. */
export const CARD_REFUSALS: Readonly<Record<CardRefusalCode, string>> = {
  MALFORMED_ASSERTION: 'The card assertion is not a valid compact JWS of the expected shape.',
  BAD_SIGNATURE: 'The card assertion signature does not verify with its certificate.',
  NONCE_MISMATCH: 'The card assertion is not for this sign-in (unknown, used or other nonce).',
  AUDIENCE_MISMATCH: 'The card assertion was made for another audience.',
  ORIGIN_MISMATCH: 'The card assertion was requested by another web origin.',
  ASSERTION_EXPIRED: 'The card assertion has expired or is not yet valid.',
  FRESH_LOGIN_REQUIRED: 'This sign-in needs a card login (PIN) made after it started.',
  CERT_UNTRUSTED: 'The card certificate does not chain to a trusted CA.',
  CERT_EXPIRED: 'The card certificate has expired.',
  CERT_NOT_YET_VALID: 'The card certificate is not yet valid.',
  CERT_REVOKED: 'The card certificate has been revoked.',
  CERT_KEY_USAGE: 'The certificate is not a card authentication certificate.',
  UID_MISMATCH: 'The card certificate does not belong to the user named in the assertion.',
  UNKNOWN_USER: 'The user is not known.',
  ROLE_UNKNOWN: 'The selected role is not one of the user’s roles.',
};
