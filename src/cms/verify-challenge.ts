/**
 * Verifies the Spine login token (docs/protocol/cis-login.md §1.3) for the Spine simulator.
 *
 * Rules:
 * - ContentInfo signedData, exactly one SignerInfo, attached id-data eContent;
 * - no signed attributes (the card signs the raw challenge) and no unsigned attributes;
 * - digestAlgorithm SHA-1 or SHA-256 (parameters absent or NULL), listed in SignedData.digestAlgorithms;
 * - signatureAlgorithm rsaEncryption or the matching shaXWithRSAEncryption;
 * - the signer certificate is embedded and found by issuerAndSerialNumber/SKID;
 * - RSA PKCS#1 v1.5 signature over the eContent verifies with that certificate's key.
 * Path validation is the caller's (validateCertificatePath).
 */
import { OID, digestName, verifySignature } from './algorithms.js';
import { certificateInternals, type CertificateInfo } from './certificate.js';
import { cmsError } from './errors.js';
import { parseSignedData, type ParsedCms } from './parse-cms.js';
import { findSignerCertificate } from './signer-cert.js';
import { isServiceError } from '../errors.js';

const MAX_CHALLENGE_CMS = 64 * 1024;

/**
 * Parses and checks a Spine login CMS; returns the challenge bytes, the signer certificate and the hash.
 * Throws `ERR_CMS_MALFORMED` or `ERR_CMS_SIGNATURE_INVALID` (ServiceError).
 *
 * @example
 * ```ts
 * const { content, signerCertificate } = verifyChallengeCms(der);
 * const path = await validateCertificatePath(signerCertificate, { anchors, intermediates, at: new Date() });
 * ```
 */
export function verifyChallengeCms(der: Uint8Array): {
  content: Uint8Array;
  signerCertificate: CertificateInfo;
  hash: 'SHA-1' | 'SHA-256';
} {
  if (!(der instanceof Uint8Array) || der.length > MAX_CHALLENGE_CMS) {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  let cms: ParsedCms;
  try {
    cms = parseSignedData(der);
  } catch (cause) {
    throw isServiceError(cause) && cause.code === 'ERR_CMS_MALFORMED'
      ? cause
      : cmsError('ERR_CMS_MALFORMED', { cause });
  }
  const signer = cms.signers[0];
  if (
    signer === undefined ||
    cms.signers.length !== 1 ||
    cms.eContentType !== OID.data ||
    cms.eContent === undefined ||
    signer.signedAttrs !== undefined ||
    signer.hasUnsignedAttrs ||
    !signer.digestParamsOk ||
    !cms.digestOids.includes(signer.digestOid)
  ) {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  const hash = digestName(signer.digestOid);
  if (hash !== 'SHA-1' && hash !== 'SHA-256') {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  const cert = findSignerCertificate(signer, cms.certificates);
  if (cert === undefined) {
    throw cmsError('ERR_CMS_MALFORMED');
  }
  const key = certificateInternals(cert).key;
  const outcome =
    key === undefined
      ? 'unsupported'
      : verifySignature(key, signer.signatureOid, cms.eContent, signer.signature, hash);
  // The simulator's contract has two codes: an unusable algorithm is a signature that does not verify.
  if (outcome !== 'valid' || cert.publicKey.algorithm !== 'RSA') {
    throw cmsError('ERR_CMS_SIGNATURE_INVALID');
  }
  // A copy: parseSignedData's eContent is a view into the caller's buffer.
  return { content: Uint8Array.from(cms.eContent), signerCertificate: cert, hash };
}
