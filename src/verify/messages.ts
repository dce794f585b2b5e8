/**
 * The fixed messages of verification reports: EPS's own strings (docs/protocol/eps-signing.md §2.2) where EPS has a
 * check, and ours for the checks EPS lacks (§2.5). Rules:
 * - a failed or indeterminate check carries one of these strings and nothing derived from the input;
 * - the EPS strings are byte for byte those of EPS `verifyPrescriptionSignature()`.
 */
export const EPS_MESSAGES = Object.freeze({
  format: 'Invalid signature format',
  multipleCertificates: 'Multiple certificates detected',
  invalidCertificate: 'Invalid certificate',
  signatureInvalid: 'Signature is invalid',
  digestMismatch: "Signature doesn't match prescription",
  revoked: 'Certificate is revoked',
  caRevoked: 'CA certificate is revoked',
  expired: 'Certificate expired when signed',
  notTrusted: 'Certificate not trusted',
});

export const OWN_MESSAGES = Object.freeze({
  tooLarge: 'the document is too large',
  unknownFormat: 'not an HL7 v3 prescription, a FHIR signature or a CMS signature',
  signingTime: 'the signing time is missing or invalid',
  revocationUnavailable: 'revocation status unavailable',
  keyUsage: 'the signer certificate is not for non-repudiation signatures',
  sha1: 'SHA-1 is not allowed by the algorithm policy',
  rsaSize: 'the RSA key is smaller than the algorithm policy allows',
  algorithm: 'the signature algorithm is not allowed',
  noPrescription: 'no prescription supplied: the digest was not checked',
  contentNotRebuilt: 'the prescription content could not be rebuilt: the digest was not checked',
  noAnchors: 'no trust anchors configured: the certificate was not checked',
  anchorLeafRevocation:
    'the signer certificate is itself a trust anchor: its revocation was not checked',
  noPath: 'not checked: no path to a trust anchor',
  anchorLeaf: 'not checked: the signer certificate is itself a trust anchor',
});
