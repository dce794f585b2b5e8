/**
 * Finds the signer's certificate among a SignedData's certificates (internal to src/cms).
 *
 * Rules:
 * - RFC 5652 §5.3: issuerAndSerialNumber matches issuer name (DER) and serial; subjectKeyIdentifier matches SKID;
 * - exactly one certificate may match (two matches are ambiguous → none).
 */
import { certificateInternals, type CertificateInfo } from './certificate.js';
import { equalBytes } from './der.js';
import type { ParsedSigner } from './parse-cms.js';

export function findSignerCertificate(
  signer: ParsedSigner,
  certificates: readonly CertificateInfo[],
): CertificateInfo | undefined {
  const sid = signer.sid;
  const hits = certificates.filter((c) =>
    sid.kind === 'issuerSerial'
      ? c.serialHex === sid.serialHex &&
        equalBytes(certificateInternals(c).issuerDer, sid.issuerDer)
      : c.subjectKeyId === sid.keyId,
  );
  // The same certificate twice is not ambiguous.
  const unique = new Set(hits.map((c) => c.fingerprintSha256));
  return unique.size === 1 ? hits[0] : undefined;
}
