/**
 * Error codes of the Spine Security Broker wire codecs (`src/auth/wire/`).
 *
 * The messages are fixed: a codec never echoes its input, which may be a ticket, a challenge or a signed
 * response.
 */
import { fromTable, type ErrorTable, type ServiceError } from '../../errors.js';

export type WireErrorCode =
  | 'ERR_WIRE_GPOBJECT_MALFORMED'
  | 'ERR_WIRE_GPOBJECT_DUPLICATE'
  | 'ERR_WIRE_ROLE_MALFORMED'
  | 'ERR_WIRE_SAML_MALFORMED'
  | 'ERR_WIRE_SAML_FORBIDDEN_DTD'
  | 'ERR_WIRE_SAML_STATUS'
  | 'ERR_WIRE_RESPONSE_MALFORMED'
  | 'ERR_WIRE_CHALLENGE_MALFORMED'
  | 'ERR_WIRE_CHALLENGE_FORGED'
  | 'ERR_WIRE_CHALLENGE_STALE';

export type WireError = ServiceError<WireErrorCode>;

/** The codes of `src/auth/wire/`, with HTTP status, public message and fix. */
export const WIRE_ERRORS: ErrorTable<WireErrorCode> = {
  ERR_WIRE_GPOBJECT_MALFORMED: {
    status: 502,
    message: 'the gpOBJECT document is malformed',
    fix: 'Check that the peer speaks the CIS gpOBJECT protocol (docs/protocol/cis-login.md §1.1).',
  },
  ERR_WIRE_GPOBJECT_DUPLICATE: {
    status: 502,
    message: 'the gpOBJECT document repeats a parameter',
    fix: 'Each gpPARAM name may appear once; check the peer.',
  },
  ERR_WIRE_ROLE_MALFORMED: {
    status: 502,
    message: 'a role line is malformed',
    fix: 'A role line reads `<org name>, "<L1>":"<L2>":"<L3>"` (docs/protocol/cis-login.md §1.4).',
  },
  ERR_WIRE_SAML_MALFORMED: {
    status: 502,
    message: 'the SAML role assertion is malformed',
    fix: 'Check the SSB RoleAssertion endpoint (docs/protocol/cis-login.md §3).',
  },
  ERR_WIRE_SAML_FORBIDDEN_DTD: {
    status: 502,
    message: 'the SAML role assertion carries a DOCTYPE or ENTITY declaration',
    fix: 'The SSB never sends a DTD; treat the peer as hostile.',
  },
  ERR_WIRE_SAML_STATUS: {
    status: 502,
    message: 'the SSB refused the role assertion',
    fix: 'The session is invalid or no role is selected; log in again.',
  },
  ERR_WIRE_RESPONSE_MALFORMED: {
    status: 400,
    message: 'the signed challenge response is malformed',
    fix: 'The response is base64 of an S/MIME header block and base64 CMS (docs/protocol/cis-login.md §1.3).',
  },
  ERR_WIRE_CHALLENGE_MALFORMED: {
    status: 400,
    message: 'the challenge is malformed',
    fix: 'Echo the challenge from authactivate unchanged.',
  },
  ERR_WIRE_CHALLENGE_FORGED: {
    status: 403,
    message: 'the challenge signature is not valid',
    fix: 'Echo the challenge and signature from authactivate unchanged.',
  },
  ERR_WIRE_CHALLENGE_STALE: {
    status: 403,
    message: 'the challenge is too old',
    fix: 'Ask for a fresh challenge (authactivate) and sign it promptly.',
  },
};

/**
 * Builds a wire error with its fixed message.
 *
 * @example
 * ```ts
 * throw wireError('ERR_WIRE_GPOBJECT_MALFORMED', { detail: { reason: 'no gpOBJECT' } });
 * ```
 */
export function wireError(
  code: WireErrorCode,
  options: { cause?: unknown; detail?: Record<string, unknown> } = {},
): WireError {
  return fromTable(WIRE_ERRORS, code, options);
}
