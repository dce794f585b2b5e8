/**
 * X.509 certificate parsing into plain, frozen {@link CertificateInfo} data (pkijs stays inside src/cms).
 *
 * Rules:
 * - RFC 5280 §4.1: the input is exactly one DER Certificate (no trailing bytes), version 1–3;
 * - the extensions read here (keyUsage, basicConstraints, policies, PKUP, CRL DPs, SKID/AKID) must decode,
 *   otherwise the certificate is malformed;
 * - a certificate is parsed once: the result and its public KeyObject are cached by the SHA-256 of the DER
 *   (bounded cache, bounded-cache.ts).
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { keyFromSpki, signatureName } from './algorithms.js';
import { BoundedCache } from './bounded-cache.js';
import { bytesOf, decodeWhole, serialHex, toHex } from './der.js';
import { cmsError } from './errors.js';
import { describeName } from './names.js';

export { pemToDer, derToPem, pemBlocks } from './pem.js';

export interface KeyUsage {
  readonly digitalSignature: boolean;
  readonly nonRepudiation: boolean;
  readonly keyEncipherment: boolean;
  readonly dataEncipherment: boolean;
  readonly keyAgreement: boolean;
  readonly keyCertSign: boolean;
  readonly cRLSign: boolean;
}

export interface CertificateInfo {
  readonly der: Uint8Array;
  /** RFC 4514-style, most specific RDN first: `CN=…,OU=…,O=…`. */
  readonly subject: string;
  readonly subjectCN: string | undefined;
  readonly issuer: string;
  /** Lower-case hex of the serial's unsigned magnitude (DER's sign-padding 00 dropped). */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Absent when the certificate has no keyUsage extension (no restriction, RFC 5280 §4.2.1.3). */
  readonly keyUsage?: KeyUsage;
  readonly policies: readonly string[];
  readonly privateKeyUsagePeriod?: { readonly notBefore?: Date; readonly notAfter?: Date };
  readonly crlDistributionUrls: readonly string[];
  readonly subjectKeyId?: string;
  readonly authorityKeyId?: string;
  readonly isCA: boolean;
  readonly pathLen?: number;
  readonly publicKey: {
    readonly algorithm: 'RSA' | 'EC' | 'other';
    readonly bits: number;
    readonly spkiDer: Uint8Array;
  };
  readonly signatureAlgorithm: string;
  readonly fingerprintSha256: string;
}

/** What path validation and CMS need besides the public data (internal to src/cms). */
export interface CertificateInternals {
  readonly tbs: Uint8Array;
  readonly signatureOid: string;
  readonly signature: Uint8Array;
  readonly subjectKey: string;
  readonly issuerKey: string;
  readonly issuerDer: Uint8Array;
  readonly serialContent: Uint8Array;
  readonly key: KeyObject | undefined;
  /** SHA-256 of the DER this was parsed from (the key of caches of results that depend on it). */
  readonly fingerprint: string;
}

const internals = new WeakMap<CertificateInfo, CertificateInternals>();
const cache = new BoundedCache<string, CertificateInfo>(1024);

function extensionValue<T>(
  cert: pkijs.Certificate,
  oid: string,
  type: abstract new (...a: never[]) => T,
): T | undefined {
  const ext = cert.extensions?.find((e) => e.extnID === oid);
  if (ext === undefined) {
    return undefined;
  }
  const parsed: unknown = ext.parsedValue;
  if (
    !(parsed instanceof type) ||
    (parsed as { parsingError?: string }).parsingError !== undefined
  ) {
    throw cmsError('ERR_CERT_MALFORMED');
  }
  return parsed;
}

function keyUsageOf(cert: pkijs.Certificate): KeyUsage | undefined {
  const bits = extensionValue(cert, '2.5.29.15', asn1js.BitString);
  if (bits === undefined) {
    return undefined;
  }
  const v = bits.valueBlock.valueHexView;
  const bit = (n: number): boolean => (((v[n >> 3] ?? 0) >> (7 - (n & 7))) & 1) === 1;
  return {
    digitalSignature: bit(0),
    nonRepudiation: bit(1),
    keyEncipherment: bit(2),
    dataEncipherment: bit(3),
    keyAgreement: bit(4),
    keyCertSign: bit(5),
    cRLSign: bit(6),
  };
}

function keyInfo(
  spkiDer: Uint8Array,
  oid: string,
): { info: CertificateInfo['publicKey']; key: KeyObject | undefined } {
  const algorithm =
    oid === '1.2.840.113549.1.1.1' ? 'RSA' : oid === '1.2.840.10045.2.1' ? 'EC' : 'other';
  try {
    const key = keyFromSpki(spkiDer);
    const d = key.asymmetricKeyDetails;
    const bits =
      d?.modulusLength ??
      (d?.namedCurve === 'prime256v1' ? 256 : d?.namedCurve === 'secp384r1' ? 384 : 0);
    return { info: { algorithm, bits, spkiDer }, key };
  } catch {
    return { info: { algorithm, bits: 0, spkiDer }, key: undefined };
  }
}

function build(der: Uint8Array, fingerprint: string): CertificateInfo {
  const asn = decodeWhole(der);
  if (asn === undefined) {
    throw cmsError('ERR_CERT_MALFORMED');
  }
  let cert: pkijs.Certificate;
  try {
    cert = new pkijs.Certificate({ schema: asn });
  } catch (cause) {
    throw cmsError('ERR_CERT_MALFORMED', { cause });
  }
  const subject = describeName(cert.subject);
  const issuer = describeName(cert.issuer);
  const bc = extensionValue(cert, '2.5.29.19', pkijs.BasicConstraints);
  const skid = extensionValue(cert, '2.5.29.14', asn1js.OctetString);
  const akid = extensionValue(cert, '2.5.29.35', pkijs.AuthorityKeyIdentifier);
  const pols = extensionValue(cert, '2.5.29.32', pkijs.CertificatePolicies);
  const pkup = extensionValue(cert, '2.5.29.16', pkijs.PrivateKeyUsagePeriod);
  const cdp = extensionValue(cert, '2.5.29.31', pkijs.CRLDistributionPoints);
  const ku = keyUsageOf(cert);
  const urls: string[] = [];
  for (const dp of cdp?.distributionPoints ?? []) {
    const names = Array.isArray(dp.distributionPoint) ? dp.distributionPoint : [];
    for (const gn of names) {
      if (gn.type === 6 && typeof gn.value === 'string') {
        urls.push(gn.value);
      }
    }
  }
  const spkiDer = bytesOf(cert.subjectPublicKeyInfo.toSchema().toBER());
  const { info: publicKey, key } = keyInfo(
    spkiDer,
    cert.subjectPublicKeyInfo.algorithm.algorithmId,
  );
  const pathLen =
    typeof bc?.pathLenConstraint === 'number'
      ? bc.pathLenConstraint
      : bc?.pathLenConstraint?.valueBlock.valueDec;
  const info: CertificateInfo = Object.freeze({
    der,
    subject: subject.text,
    subjectCN: subject.cn,
    issuer: issuer.text,
    serialHex: serialHex(cert.serialNumber.valueBlock.valueHexView),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    ...(ku === undefined ? {} : { keyUsage: Object.freeze(ku) }),
    policies: Object.freeze((pols?.certificatePolicies ?? []).map((p) => p.policyIdentifier)),
    ...(pkup === undefined
      ? {}
      : {
          privateKeyUsagePeriod: Object.freeze({
            ...(pkup.notBefore === undefined ? {} : { notBefore: pkup.notBefore }),
            ...(pkup.notAfter === undefined ? {} : { notAfter: pkup.notAfter }),
          }),
        }),
    crlDistributionUrls: Object.freeze(urls),
    ...(skid === undefined ? {} : { subjectKeyId: toHex(skid.valueBlock.valueHexView) }),
    ...(akid?.keyIdentifier === undefined
      ? {}
      : { authorityKeyId: toHex(akid.keyIdentifier.valueBlock.valueHexView) }),
    isCA: bc?.cA === true,
    ...(pathLen === undefined ? {} : { pathLen }),
    publicKey: Object.freeze(publicKey),
    signatureAlgorithm: signatureName(cert.signatureAlgorithm.algorithmId),
    fingerprintSha256: fingerprint,
  });
  internals.set(info, {
    tbs: cert.tbsView,
    signatureOid: cert.signatureAlgorithm.algorithmId,
    signature: cert.signatureValue.valueBlock.valueHexView,
    subjectKey: subject.matchKey,
    issuerKey: issuer.matchKey,
    issuerDer: bytesOf(cert.issuer.toSchema().toBER()),
    serialContent: cert.serialNumber.valueBlock.valueHexView,
    key,
    fingerprint,
  });
  return info;
}

/**
 * Parses one DER X.509 certificate into frozen plain data. Throws `ERR_CERT_MALFORMED`.
 *
 * @example
 * ```ts
 * const cert = parseCertificate(pemToDer(readFileSync('sign.pem', 'utf8'), ['CERTIFICATE']));
 * cert.subjectCN; // '555000000099_Signer_Retired'
 * ```
 */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  if (!(der instanceof Uint8Array)) {
    throw cmsError('ERR_CERT_MALFORMED');
  }
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const hit = cache.get(fingerprint);
  if (hit !== undefined) {
    return hit;
  }
  // Copy: the caller may reuse its buffer after we return.
  const info = build(Uint8Array.from(der), fingerprint);
  cache.set(fingerprint, info);
  return info;
}

/** Internal data of a parsed certificate (re-parses a CertificateInfo that did not come from here). */
export function certificateInternals(cert: CertificateInfo): CertificateInternals {
  const known = internals.get(cert) ?? internals.get(parseCertificate(cert.der));
  if (known === undefined) {
    throw cmsError('ERR_CERT_MALFORMED');
  }
  return known;
}
