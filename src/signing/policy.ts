/**
 * The signing policy: which certificate may make a content-commitment signature, and when.
 *
 * Rules (docs/protocol/eps-signing.md §1.5, §6 "Key and certificate"):
 * - keyUsage must include nonRepudiation (RFC 5280 §4.2.1.3; a certificate without the extension is refused too);
 * - the signing time lies within notBefore..notAfter and within the PrivateKeyUsagePeriod when present
 *   (RFC 3280 §4.2.1.4);
 * - when trust anchors are configured, the path is validated at the signing time with the configured CRLs;
 *   REVOKED → ERR_SIGN_CERT_REVOKED, anything else not valid → ERR_SIGN_CERT_UNTRUSTED;
 * - the checks run before any card operation.
 */
import { readFile } from 'node:fs/promises';
import type { CertificateInfo } from '../cms/certificate.js';
import type { CrlInfo } from '../cms/crl.js';
import { validateCertificatePath, type RevocationPolicy } from '../cms/path.js';
import { certificatesOf, loadTrustStore } from '../cms/trust-store.js';
import { signError } from './errors.js';

/** Trust configuration for the revocation/path check. */
export interface SigningTrust {
  readonly anchors: readonly CertificateInfo[];
  readonly intermediates: readonly CertificateInfo[];
  readonly crls: readonly CrlInfo[];
  /** Default 'require' when CRLs are configured, 'off' otherwise. */
  readonly revocation?: RevocationPolicy;
  /** Accept SHA-1 certificate signatures and RSA < 2048 in the path (INT legacy cards); default false. */
  readonly allowLegacy?: boolean;
}

/**
 * The synchronous part of the policy: keyUsage, validity, PrivateKeyUsagePeriod at `at`.
 *
 * @example
 * ```ts
 * checkCertificateUsage(parseCertificate(der), new Date()); // throws ERR_SIGN_PKUP_OUTSIDE when over
 * ```
 */
export function checkCertificateUsage(cert: CertificateInfo, at: Date): void {
  if (cert.keyUsage?.nonRepudiation !== true) {
    throw signError('ERR_SIGN_CERT_NOT_NON_REPUDIATION');
  }
  const t = at.getTime();
  if (t < cert.notBefore.getTime()) {
    throw signError('ERR_SIGN_CERT_NOT_YET_VALID');
  }
  if (t > cert.notAfter.getTime()) {
    throw signError('ERR_SIGN_CERT_EXPIRED');
  }
  const pkup = cert.privateKeyUsagePeriod;
  if (
    pkup !== undefined &&
    ((pkup.notBefore !== undefined && t < pkup.notBefore.getTime()) ||
      (pkup.notAfter !== undefined && t > pkup.notAfter.getTime()))
  ) {
    throw signError('ERR_SIGN_PKUP_OUTSIDE');
  }
}

/**
 * The whole policy: {@link checkCertificateUsage}, then path validation and revocation when `trust` is given.
 *
 * @example
 * ```ts
 * await checkSigningPolicy(cert, at, await loadSigningTrust({ trustDir, crlDir }));
 * ```
 */
export async function checkSigningPolicy(
  cert: CertificateInfo,
  at: Date,
  trust?: SigningTrust,
): Promise<void> {
  checkCertificateUsage(cert, at);
  if (trust === undefined || trust.anchors.length === 0) {
    return;
  }
  const result = await validateCertificatePath(cert, {
    anchors: trust.anchors,
    intermediates: trust.intermediates,
    crls: trust.crls,
    at,
    revocation: trust.revocation ?? (trust.crls.length > 0 ? 'require' : 'off'),
    ...(trust.allowLegacy === true ? { allowSha1: true, minRsaBits: 1024 } : {}),
  });
  if (result.status === 'valid') {
    return;
  }
  if (result.subIndication === 'REVOKED' || result.subIndication === 'REVOKED_CA_NO_POE') {
    throw signError('ERR_SIGN_CERT_REVOKED');
  }
  throw signError('ERR_SIGN_CERT_UNTRUSTED', {
    detail: { subIndication: result.subIndication ?? 'unknown' },
  });
}

/**
 * Loads trust from folders with the shared loader (src/cms/trust-store.ts): every certificate in `trustDir`
 * (self-signed CA → anchor, else intermediate), every certificate in `chainFiles`, and every CRL/ARL (DER or
 * PEM) in `crlDir`. Any file that cannot be read fails the load (ERR_SIGN_TRUST_UNREADABLE, naming the files).
 *
 * @example
 * ```ts
 * const trust = await loadSigningTrust({ trustDir: 'pki/trust', crlDir: 'pki/crl', chainFiles: ['pki/chain.pem'] });
 * ```
 */
export async function loadSigningTrust(o: {
  trustDir?: string;
  crlDir?: string;
  chainFiles?: readonly string[];
  allowLegacy?: boolean;
}): Promise<SigningTrust> {
  const store = await loadTrustStore({
    trustDirs: o.trustDir !== undefined ? [o.trustDir] : [],
    crlDirs: o.crlDir !== undefined ? [o.crlDir] : [],
  });
  // Fail closed: a CRL or CA that cannot be read must not silently drop out of the signing policy.
  if (store.rejected.length > 0) {
    throw signError('ERR_SIGN_TRUST_UNREADABLE', { detail: { files: store.rejected } });
  }
  // Only a self-issued CA certificate anchors signing trust; any other self-issued one is just an intermediate.
  const anchors = store.anchors.filter((c) => c.isCA);
  const intermediates = [...store.anchors.filter((c) => !c.isCA), ...store.intermediates];
  for (const file of o.chainFiles ?? []) {
    intermediates.push(...certificatesOf(new Uint8Array(await readFile(file))));
  }
  return {
    anchors,
    intermediates,
    crls: store.crls,
    ...(o.allowLegacy === true ? { allowLegacy: true } : {}),
  };
}
