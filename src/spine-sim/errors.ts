/**
 * Error codes of the Spine Security Broker simulator.
 *
 * Two kinds:
 * - {@link SPINE_SIM_ERRORS}: `ServiceError` codes for the simulator's own configuration (users file, trust and
 *   CRL folders). Messages never echo file content.
 * - {@link LOGIN_REJECTIONS}: the codes the simulator puts in `<gpPARAM name="error">` when it refuses a login,
 *   with the HTTP status it answers with. The real GAS error shape is not public (docs/protocol/cis-login.md §6, §8 item 1);
 *   this is the simulator's choice, documented in docs/spine-sim.md.
 */
import { errorFactory, type ErrorTable } from '../errors.js';
import type { CertificateRefusalCode } from './card-certificate.js';

export type SpineSimErrorCode =
  | 'ERR_SPINE_SIM_USERS_UNREADABLE'
  | 'ERR_SPINE_SIM_USERS_INVALID'
  | 'ERR_SPINE_SIM_TRUST_DIR'
  | 'ERR_SPINE_SIM_CRL_DIR';

/** The simulator's configuration codes. */
export const SPINE_SIM_ERRORS: ErrorTable<SpineSimErrorCode> = {
  ERR_SPINE_SIM_USERS_UNREADABLE: {
    status: 500,
    message: 'the users file cannot be read or is not JSON',
    fix: 'Pass --users with a readable JSON file (see docs/spine-sim.md).',
  },
  ERR_SPINE_SIM_USERS_INVALID: {
    status: 500,
    message: 'the users file does not match the schema',
    fix: 'Fix the field named in the error (docs/spine-sim.md lists the fields).',
  },
  ERR_SPINE_SIM_TRUST_DIR: {
    status: 500,
    message: 'the trust folder cannot be read or holds no CA certificate',
    fix: 'Pass --trust with a folder of PEM or DER CA certificates.',
  },
  ERR_SPINE_SIM_CRL_DIR: {
    status: 500,
    message: 'the CRL folder cannot be read or holds a file that is not a CRL',
    fix: 'Pass --crl with a folder of PEM or DER CRLs.',
  },
};

/**
 * Builds a simulator configuration error.
 *
 * @example
 * ```ts
 * throw simError('ERR_SPINE_SIM_TRUST_DIR', { detail: { dir } });
 * ```
 */
export const simError = errorFactory(SPINE_SIM_ERRORS);

export type LoginRejectionCode =
  | 'MALFORMED_REQUEST'
  | 'REQUEST_TOO_LARGE'
  | 'BAD_CHALLENGE'
  | 'STALE_CHALLENGE'
  | 'BAD_SIGNATURE'
  | 'CHALLENGE_MISMATCH'
  | CertificateRefusalCode
  | 'UID_MISMATCH'
  | 'UNKNOWN_USER'
  | 'INTERNAL_ERROR';

/** The gpOBJECT rejection codes: HTTP status and the fixed `error_description`. */
export const LOGIN_REJECTIONS: Readonly<
  Record<LoginRejectionCode, { status: number; description: string }>
> = {
  MALFORMED_REQUEST: {
    status: 400,
    description: 'The request is not a valid gpOBJECT for this service.',
  },
  REQUEST_TOO_LARGE: { status: 413, description: 'The request body is too large.' },
  BAD_CHALLENGE: { status: 403, description: 'The challenge was not issued by this server.' },
  STALE_CHALLENGE: { status: 403, description: 'The challenge has expired; request a new one.' },
  BAD_SIGNATURE: { status: 403, description: 'The signed challenge could not be verified.' },
  CHALLENGE_MISMATCH: { status: 403, description: 'The signed content is not the challenge.' },
  CERT_UNTRUSTED: { status: 403, description: 'The certificate does not chain to a trusted CA.' },
  CERT_EXPIRED: { status: 403, description: 'The certificate has expired.' },
  CERT_NOT_YET_VALID: { status: 403, description: 'The certificate is not yet valid.' },
  CERT_REVOKED: { status: 403, description: 'The certificate has been revoked.' },
  CERT_KEY_USAGE: {
    status: 403,
    description: 'The certificate is not an authentication certificate.',
  },
  UID_MISMATCH: { status: 403, description: 'The certificate does not belong to this user.' },
  UNKNOWN_USER: { status: 403, description: 'The user is not known.' },
  INTERNAL_ERROR: { status: 500, description: 'The server failed to process the request.' },
};
