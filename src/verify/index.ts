/**
 * Verification for pharmacists: EPS prescription signatures (HL7 v3, FHIR) and CMS, with a DSS-style report.
 * See docs/verify.md.
 */
export {
  createVerifier,
  detectKind,
  verifyDocument,
  Verifier,
  type DocumentKind,
} from './verifier.js';
export { crlFetcher, type HttpGet } from './crl-fetch.js';
export { loadTrustStore, type TrustStore } from '../cms/index.js';
export { EPS_MESSAGES } from './messages.js';
export type { CrlFetch, RevocationPolicy, VerifierOptions, VerifyCallOptions } from './options.js';
export type {
  Check,
  ChainEntry,
  Indication,
  SubIndication,
  VerificationReport,
} from '../cms/index.js';
