/**
 * The error codes of src/cms (certificates, CRLs, path validation, CMS signing and verification).
 *
 * Rules:
 * - messages are fixed strings: they never echo the input (a document, a certificate) nor a library's text;
 * - the library error, where there is one, travels as `cause` (for the log only).
 */
import { errorFactory, type ErrorTable } from '../errors.js';

export type CmsErrorCode =
  | 'ERR_CMS_MALFORMED'
  | 'ERR_CMS_TOO_LARGE'
  | 'ERR_CMS_SIGNATURE_INVALID'
  | 'ERR_CMS_UNSUPPORTED_ALGORITHM'
  | 'ERR_CMS_SIGNER_FAILED'
  | 'ERR_CMS_BAD_INPUT'
  | 'ERR_CERT_MALFORMED'
  | 'ERR_CRL_MALFORMED'
  | 'ERR_PEM_MALFORMED';

export const CMS_ERRORS: ErrorTable<CmsErrorCode> = {
  ERR_CMS_MALFORMED: {
    status: 400,
    message: 'the CMS structure is malformed',
    fix: 'Send a DER or PEM encoded CMS ContentInfo of type signedData with exactly one signer.',
  },
  ERR_CMS_TOO_LARGE: {
    status: 413,
    message: 'the CMS document is too large',
    fix: 'Send a CMS document smaller than the documented limit (20 MiB).',
  },
  ERR_CMS_SIGNATURE_INVALID: {
    status: 400,
    message: 'signature verification failed',
    fix: 'Re-sign the content with the key that matches the embedded certificate.',
  },
  ERR_CMS_UNSUPPORTED_ALGORITHM: {
    status: 400,
    message: 'the signature or digest algorithm is not supported',
    fix: 'Use RSA PKCS#1 v1.5 with SHA-256 (or SHA-1 where the protocol requires it).',
  },
  ERR_CMS_SIGNER_FAILED: {
    status: 502,
    message: 'the signing device did not return a signature',
    fix: 'Check that the card is present and logged in, then retry.',
  },
  ERR_CMS_BAD_INPUT: {
    status: 400,
    message: 'the signing request is invalid',
    fix: 'Pass the content as bytes and a signing identity made by createSigningIdentity.',
  },
  ERR_CERT_MALFORMED: {
    status: 400,
    message: 'the certificate is malformed',
    fix: 'Send a DER or PEM encoded X.509 v3 certificate.',
  },
  ERR_CRL_MALFORMED: {
    status: 400,
    message: 'the certificate revocation list is malformed',
    fix: 'Send a DER or PEM encoded X.509 v2 CRL signed by the issuing CA.',
  },
  ERR_PEM_MALFORMED: {
    status: 400,
    message: 'the PEM text is malformed',
    fix: 'Send one PEM block with the expected label and strict base64 content.',
  },
};

/**
 * Builds a cms error from {@link CMS_ERRORS}.
 *
 * @example
 * ```ts
 * throw cmsError('ERR_CERT_MALFORMED', { cause: err });
 * ```
 */
export const cmsError = errorFactory(CMS_ERRORS);
