/**
 * CMS/CAdES signature verification with a DSS-style report (never throws for bad input).
 *
 * Rules, in the order of the checks (the first failure decides, report.ts):
 * - size ≤ 20 MiB; DER or PEM (CMS, PKCS7), read by the strict walk of parse-cms.ts (BER indefinite lengths in
 *   the envelope only); ContentInfo signedData; exactly one SignerInfo; the content is attached or supplied as
 *   `detachedContent` (not both) → FORMAT_FAILURE / SIGNED_DATA_NOT_FOUND;
 * - the signer certificate is embedded (issuerAndSerialNumber/SKID) → NO_SIGNING_CERTIFICATE_FOUND;
 * - algorithms are on the allowlist (SHA-1/2 digests, RSA PKCS#1 v1.5 / ECDSA) before any maths runs;
 * - signed attributes are required: content-type = eContentType, message-digest, signing-certificate(-v2)
 *   (signed-attributes.ts) → FORMAT_FAILURE / HASH_FAILURE;
 * - the signature over the DER SET of signed attributes verifies with node:crypto → SIG_CRYPTO_FAILURE;
 * - policy: SHA-1 (unless `allowSha1`) and RSA below `minRsaBits` (default 2048) → CRYPTO_CONSTRAINTS_FAILURE;
 * - signer key usage has digitalSignature or nonRepudiation → CHAIN_CONSTRAINTS_FAILURE;
 * - signing time = signingTime attribute (a claim of the signer), else `at`, else now; the private key usage
 *   period must cover it → EXPIRED / NOT_YET_VALID;
 * - validateCertificatePath at the signing time; embedded certificates are only an untrusted intermediate pool.
 */
import { digestName, signatureHash, verifySignature } from './algorithms.js';
import { certificateInternals, type CertificateInfo } from './certificate.js';
import type { CrlInfo } from './crl.js';
import { validateCertificatePath, type RevocationPolicy } from './path.js';
import { parseSignedData, type ParsedCms } from './parse-cms.js';
import { buildReport, chainEntry, type Check, type VerificationReport } from './report.js';
import { checkSignedAttributes } from './signed-attributes.js';
import { findSignerCertificate } from './signer-cert.js';

export { verifyChallengeCms } from './verify-challenge.js';

export const MAX_CMS_BYTES = 20 * 1024 * 1024;

export interface VerifyCmsOptions {
  readonly detachedContent?: Uint8Array;
  readonly anchors: readonly CertificateInfo[];
  readonly intermediates?: readonly CertificateInfo[];
  readonly crls?: readonly CrlInfo[];
  readonly fetchCrl?: (url: string) => Promise<Uint8Array | undefined>;
  /** Validation time when the CMS has no signingTime attribute (default: now). */
  readonly at?: Date;
  readonly now?: () => Date;
  readonly revocation?: RevocationPolicy;
  readonly allowSha1?: boolean;
  readonly minRsaBits?: number;
}

const fail = (id: string, title: string, sub: Check['subIndication'], message: string): Check =>
  sub === undefined
    ? { id, title, status: 'failed', message }
    : { id, title, status: 'failed', subIndication: sub, message };

function report(
  checks: Check[],
  extra: Partial<Pick<VerificationReport, 'signer'>> & {
    chain?: readonly CertificateInfo[];
    signingTime?: Date;
  } = {},
) {
  return buildReport({
    format: 'CMS',
    checks,
    chain: (extra.chain ?? []).map(chainEntry),
    ...(extra.signer === undefined ? {} : { signer: extra.signer }),
    ...(extra.signingTime === undefined ? {} : { signingTime: extra.signingTime }),
  });
}

/**
 * Verifies a CMS SignedData (DER or PEM) and returns a DSS-style report; never throws for bad input.
 *
 * @example
 * ```ts
 * const report = await verifyCms(der, { anchors: [root], intermediates: [signCa], crls: [signCaCrl] });
 * report.indication; // 'TOTAL_PASSED' | 'TOTAL_FAILED' | 'INDETERMINATE'
 * ```
 */
export async function verifyCms(
  input: Uint8Array,
  opts: VerifyCmsOptions,
): Promise<VerificationReport> {
  const checks: Check[] = [];
  const fmt = 'CMS structure';
  if (!(input instanceof Uint8Array) || input.length > MAX_CMS_BYTES) {
    return report([
      fail('cms.format', fmt, 'FORMAT_FAILURE', 'input missing or larger than 20 MiB'),
    ]);
  }
  let cms: ParsedCms;
  try {
    cms = parseSignedData(input);
  } catch {
    return report([fail('cms.format', fmt, 'FORMAT_FAILURE', 'not a CMS SignedData')]);
  }
  const signer = cms.signers[0];
  if (signer === undefined || cms.signers.length !== 1) {
    return report([fail('cms.format', fmt, 'FORMAT_FAILURE', 'exactly one signer is required')]);
  }
  // No copies of `input` or `detachedContent`: every read of them happens before the first await below.
  const detached = opts.detachedContent;
  if (cms.eContent !== undefined && detached !== undefined) {
    return report([
      fail('cms.format', fmt, 'FORMAT_FAILURE', 'content is both attached and supplied'),
    ]);
  }
  const content = cms.eContent ?? detached;
  if (content === undefined) {
    return report([
      {
        id: 'cms.format',
        title: fmt,
        status: 'indeterminate',
        subIndication: 'SIGNED_DATA_NOT_FOUND',
        message: 'detached content not supplied',
      },
    ]);
  }
  checks.push({ id: 'cms.format', title: fmt, status: 'passed' });
  const cert = findSignerCertificate(signer, cms.certificates);
  if (cert === undefined) {
    checks.push({
      id: 'cms.signer-certificate',
      title: 'signer certificate',
      status: 'indeterminate',
      subIndication: 'NO_SIGNING_CERTIFICATE_FOUND',
      message: 'the signer certificate is not in the CMS',
    });
    return report(checks);
  }
  checks.push({ id: 'cms.signer-certificate', title: 'signer certificate', status: 'passed' });
  const signerFacts = {
    name: cert.subjectCN ?? cert.subject,
    ...(/^\d{12}/.test(cert.subjectCN ?? '') ? { uid: (cert.subjectCN ?? '').slice(0, 12) } : {}),
    certificateSerial: cert.serialHex,
    issuer: cert.issuer,
  };
  const hash = digestName(signer.digestOid);
  const sigHash = signatureHash(signer.signatureOid);
  const key = certificateInternals(cert).key;
  if (
    hash === undefined ||
    !signer.digestParamsOk ||
    key === undefined ||
    (sigHash !== undefined && sigHash !== hash)
  ) {
    checks.push(
      fail(
        'cms.algorithms',
        'algorithms allowed',
        'CRYPTO_CONSTRAINTS_FAILURE',
        'unsupported digest or signature algorithm',
      ),
    );
    return report(checks, { signer: signerFacts });
  }
  if (signer.signedAttrs === undefined || signer.signedAttrsDer === undefined) {
    checks.push(
      fail(
        'cms.signed-attributes',
        'signed attributes present',
        'FORMAT_FAILURE',
        'signed attributes are required',
      ),
    );
    return report(checks, { signer: signerFacts });
  }
  checks.push({
    id: 'cms.signed-attributes',
    title: 'signed attributes present',
    status: 'passed',
  });
  const attrs = checkSignedAttributes({
    attrs: signer.signedAttrs,
    eContentType: cms.eContentType,
    content,
    hash,
    cert,
  });
  checks.push(...attrs.checks);
  const math = verifySignature(
    key,
    signer.signatureOid,
    signer.signedAttrsDer,
    signer.signature,
    hash,
  );
  checks.push(
    math === 'valid'
      ? { id: 'cms.signature', title: 'signature value', status: 'passed' }
      : math === 'invalid'
        ? fail(
            'cms.signature',
            'signature value',
            'SIG_CRYPTO_FAILURE',
            'signature verification failed',
          )
        : fail(
            'cms.signature',
            'signature value',
            'CRYPTO_CONSTRAINTS_FAILURE',
            'unsupported signature algorithm',
          ),
  );
  const minBits = opts.minRsaBits ?? 2048;
  const weak =
    hash === 'SHA-1' && opts.allowSha1 !== true
      ? 'SHA-1 digest not allowed'
      : cert.publicKey.algorithm === 'RSA' && cert.publicKey.bits < minBits
        ? 'RSA key too small'
        : undefined;
  checks.push(
    weak === undefined
      ? { id: 'cms.crypto-policy', title: 'algorithm policy', status: 'passed' }
      : fail('cms.crypto-policy', 'algorithm policy', 'CRYPTO_CONSTRAINTS_FAILURE', weak),
  );
  const ku = cert.keyUsage;
  checks.push(
    ku === undefined || ku.digitalSignature || ku.nonRepudiation
      ? { id: 'cms.key-usage', title: 'signer key usage', status: 'passed' }
      : fail(
          'cms.key-usage',
          'signer key usage',
          'CHAIN_CONSTRAINTS_FAILURE',
          'the certificate may not sign',
        ),
  );
  const signingTime = attrs.signingTime ?? opts.at ?? opts.now?.() ?? new Date();
  checks.push(
    attrs.signingTime === undefined
      ? {
          id: 'cms.signing-time',
          title: 'signing time',
          status: 'warning',
          message: 'no signing-time attribute: validated at the given time',
        }
      : { id: 'cms.signing-time', title: 'signing time', status: 'passed' },
  );
  const pkup = cert.privateKeyUsagePeriod;
  const t = signingTime.getTime();
  checks.push(
    pkup?.notAfter !== undefined && t > pkup.notAfter.getTime()
      ? fail(
          'cms.private-key-usage-period',
          'private key usage period',
          'EXPIRED',
          'the private key usage period had ended',
        )
      : pkup?.notBefore !== undefined && t < pkup.notBefore.getTime()
        ? fail(
            'cms.private-key-usage-period',
            'private key usage period',
            'NOT_YET_VALID',
            'the private key usage period had not started',
          )
        : {
            id: 'cms.private-key-usage-period',
            title: 'private key usage period',
            status: 'passed',
          },
  );
  const path = await validateCertificatePath(cert, {
    anchors: opts.anchors,
    intermediates: [...(opts.intermediates ?? []), ...cms.certificates],
    at: signingTime,
    ...(opts.crls === undefined ? {} : { crls: opts.crls }),
    ...(opts.fetchCrl === undefined ? {} : { fetchCrl: opts.fetchCrl }),
    ...(opts.revocation === undefined ? {} : { revocation: opts.revocation }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
    ...(opts.allowSha1 === undefined ? {} : { allowSha1: opts.allowSha1 }),
    minRsaBits: minBits,
  });
  checks.push(...path.checks);
  return report(checks, { signer: signerFacts, chain: path.chain, signingTime });
}
