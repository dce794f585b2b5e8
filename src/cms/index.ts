/**
 * The cms folder's public surface: X.509 certificates, CRLs, RFC 5280 path validation, CAdES/CMS signing and
 * verification, the trust store, and the DSS-style report the verifier builds. pkijs and asn1js types never
 * cross this line: internals (`der-reader.ts`, `certificateInternals`, `parse-cms.ts`, the DER writer) stay
 * inside the folder.
 */
export { parseCertificate, type CertificateInfo, type KeyUsage } from './certificate.js';
export { derToPem, pemBlocks, pemToDer } from './pem.js';
export {
  crlMatchesIssuer,
  parseCrl,
  revocationStatus,
  verifyCrlSignature,
  type CrlEntry,
  type CrlInfo,
} from './crl.js';
export {
  validateCertificatePath,
  type PathOptions,
  type PathResult,
  type RevocationPolicy,
} from './path.js';
export {
  buildReport,
  chainEntry,
  type ChainEntry,
  type Check,
  type CheckStatus,
  type Indication,
  type SubIndication,
  type VerificationReport,
} from './report.js';
export { signCades, signChallenge, toPem, type RsaSigner } from './sign.js';
export { createSigningIdentity, type SigningIdentity } from './identity.js';
export { certificatesOf, loadTrustStore, type TrustStore } from './trust-store.js';
export { MAX_CMS_BYTES, verifyCms, type VerifyCmsOptions } from './verify.js';
export { verifyChallengeCms } from './verify-challenge.js';
export { keyFromSpki } from './algorithms.js';
export { CMS_ERRORS, cmsError, type CmsErrorCode } from './errors.js';
