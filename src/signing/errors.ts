/**
 * The error codes of src/signing (content-commitment signing: EPS digests, HL7 v3 prescriptions, CMS).
 *
 * Rules:
 * - messages are fixed strings: never the PIN, a payload, a document or a library's text;
 * - a refusal by policy (certificate, algorithm, role) is a 4xx; a card or self-check failure is a 5xx/409.
 */
import { fromTable, type ErrorTable, type ServiceError } from '../errors.js';

export type SignErrorCode =
  | 'ERR_SIGN_NO_SIGNING_CERT'
  | 'ERR_SIGN_NO_PRIVATE_KEY'
  | 'ERR_SIGN_CERT_NOT_NON_REPUDIATION'
  | 'ERR_SIGN_CERT_EXPIRED'
  | 'ERR_SIGN_CERT_NOT_YET_VALID'
  | 'ERR_SIGN_PKUP_OUTSIDE'
  | 'ERR_SIGN_CERT_REVOKED'
  | 'ERR_SIGN_CERT_UNTRUSTED'
  | 'ERR_SIGN_TRUST_UNREADABLE'
  | 'ERR_SIGN_ALGORITHM_UNSUPPORTED'
  | 'ERR_SIGN_BAD_PAYLOAD'
  | 'ERR_SIGN_BAD_INPUT'
  | 'ERR_SIGN_BATCH_TOO_LARGE'
  | 'ERR_SIGN_TIMESTAMP_INVALID'
  | 'ERR_SIGN_PIN_REQUIRED'
  | 'ERR_SIGN_NO_ROLE'
  | 'ERR_SIGN_ROLE_NOT_PRESCRIBER'
  | 'ERR_SIGN_DIGEST_MISMATCH'
  | 'ERR_SIGN_CARD_REMOVED'
  | 'ERR_SIGN_CARD_FAILED'
  | 'ERR_SIGN_SELF_CHECK_FAILED'
  | 'ERR_SIGN_AUDIT_FAILED'
  | 'ERR_SIGN_CLOSED';

export const SIGN_ERRORS: ErrorTable<SignErrorCode> = {
  ERR_SIGN_NO_SIGNING_CERT: {
    status: 409,
    message: 'the card has no signing (non-repudiation) certificate',
    fix: 'Use a smartcard issued with a signing certificate; an authentication-only card cannot sign prescriptions.',
  },
  ERR_SIGN_NO_PRIVATE_KEY: {
    status: 409,
    message: 'the private key of the signing certificate is not on the card',
    fix: 'Log in to the card first; if the problem stays, the card needs reissuing by your Registration Authority.',
  },
  ERR_SIGN_CERT_NOT_NON_REPUDIATION: {
    status: 409,
    message: 'the certificate is not a non-repudiation (signing) certificate',
    fix: 'Sign only with the certificate whose keyUsage includes nonRepudiation.',
  },
  ERR_SIGN_CERT_EXPIRED: {
    status: 409,
    message: 'the signing certificate has expired',
    fix: 'Renew the signing certificate with your Registration Authority.',
  },
  ERR_SIGN_CERT_NOT_YET_VALID: {
    status: 409,
    message: 'the signing certificate is not yet valid',
    fix: 'Check the computer clock, or wait until the certificate becomes valid.',
  },
  ERR_SIGN_PKUP_OUTSIDE: {
    status: 409,
    message: 'the signing key may not be used at this time (private key usage period)',
    fix: 'The private key usage period of the signing certificate is over: renew the certificate.',
  },
  ERR_SIGN_CERT_REVOKED: {
    status: 409,
    message: 'the signing certificate is revoked',
    fix: 'Contact your Registration Authority: the certificate has been revoked.',
  },
  ERR_SIGN_CERT_UNTRUSTED: {
    status: 409,
    message: 'the signing certificate does not validate against the configured trust anchors',
    fix: 'Check --trust/--crl (trust anchors, intermediates and fresh CRLs) and the certificate chain.',
  },
  ERR_SIGN_TRUST_UNREADABLE: {
    status: 500,
    message: 'a file in the signing trust or CRL folder is not a readable certificate or CRL',
    fix: 'Remove or replace the files named in the error detail (dangling links, junk, damaged PEM/DER): the signing policy will not run with part of its trust or revocation data missing.',
  },
  ERR_SIGN_ALGORITHM_UNSUPPORTED: {
    status: 400,
    message: 'the signature algorithm is not supported',
    fix: 'Use RS256 (SHA-256) or RS1 (SHA-1) as returned by $prepare.',
  },
  ERR_SIGN_BAD_PAYLOAD: {
    status: 400,
    message: 'the payload is not a valid base64 SignedInfo',
    fix: 'Send the `digest` parameter of the $prepare response exactly as received.',
  },
  ERR_SIGN_BAD_INPUT: {
    status: 400,
    message: 'the signing request is not valid',
    fix: 'See docs/signing.md for the request shapes and limits.',
  },
  ERR_SIGN_BATCH_TOO_LARGE: {
    status: 400,
    message: 'too many payloads in one signing request',
    fix: 'Send at most 250 payloads per request.',
  },
  ERR_SIGN_TIMESTAMP_INVALID: {
    status: 400,
    message: 'the signing timestamp is not a valid ISO 8601 date-time',
    fix: 'Send the `timestamp` parameter of the $prepare response, e.g. 2024-12-09T11:50:04+00:00.',
  },
  ERR_SIGN_PIN_REQUIRED: {
    status: 401,
    message: 'the card PIN is required to sign',
    fix: 'Send the PIN (field `pin`) on first use, or on every call when the PIN policy is per-signature.',
  },
  ERR_SIGN_ROLE_NOT_PRESCRIBER: {
    status: 403,
    message: 'the selected Spine role cannot prescribe: signing is refused',
    fix: 'Select a prescribing role (POST /api/v1/role), or list this job role in RXSIGN_PRESCRIBER_ROLES.',
  },
  ERR_SIGN_DIGEST_MISMATCH: {
    status: 409,
    message: 'the SignedInfo does not match the prescription Bundle: nothing was signed',
    fix: 'Send the digest $prepare returned for this exact Bundle, with the same timestamp and algorithm (rxsign prepare computes it).',
  },
  ERR_SIGN_NO_ROLE: {
    status: 403,
    message: 'no Spine role is selected: signing is refused',
    fix: 'Select a role (POST /api/v1/role) first, or set RXSIGN_SIGN_WITHOUT_ROLE=true.',
  },
  ERR_SIGN_CARD_REMOVED: {
    status: 409,
    message: 'the card was removed during signing',
    fix: 'Insert the card again and repeat the items that were not signed.',
  },
  ERR_SIGN_CARD_FAILED: {
    status: 502,
    message: 'the card could not produce the signature',
    fix: 'Retry; if it keeps failing, check the reader and run `rxsign tokens`.',
  },
  ERR_SIGN_SELF_CHECK_FAILED: {
    status: 502,
    message: 'the signature made by the card does not verify with the certificate',
    fix: 'The key on the card does not match the certificate: the card needs reissuing.',
  },
  ERR_SIGN_AUDIT_FAILED: {
    status: 500,
    message: 'the signing attempt could not be recorded in the audit log; no signature is returned',
    fix: 'Check the audit log path, its permissions and free disk space.',
  },
  ERR_SIGN_CLOSED: {
    status: 503,
    message: 'the signing service is closed',
    fix: 'Restart the agent.',
  },
};

/**
 * Builds a signing error from the table.
 *
 * @example
 * ```ts
 * throw signError('ERR_SIGN_NO_SIGNING_CERT');
 * ```
 */
export function signError(
  code: SignErrorCode,
  options: { cause?: unknown; detail?: Record<string, unknown> } = {},
): ServiceError<SignErrorCode> {
  return fromTable(SIGN_ERRORS, code, options);
}
