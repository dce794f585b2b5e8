/**
 * The signing identity: everything about the signer that does not change between signatures, encoded once.
 *
 * Rules:
 * - certificates are parsed once (pkijs parsing is the expensive part) and every constant DER piece of the
 *   SignedData (certificate set, IssuerAndSerialNumber, ESS signing-certificate-v2 attribute) is encoded here;
 * - RFC 5035 §5.4.1: ESSCertIDv2 = SHA-256 of the signer certificate DER (hashAlgorithm omitted: DEFAULT
 *   sha256) and issuerSerial (issuer as a directoryName GeneralName, serial);
 * - only RSA signer certificates are accepted (the card signs RSA PKCS#1 v1.5).
 */
import * as asn1js from 'asn1js';
import { OID } from './algorithms.js';
import { certificateInternals, parseCertificate, type CertificateInfo } from './certificate.js';
import { bytesOf, derSetOf, tlv } from './der.js';
import { cmsError } from './errors.js';

declare const brand: unique symbol;

/** An opaque, reusable signer description made by {@link createSigningIdentity}. */
export interface SigningIdentity {
  readonly certificate: CertificateInfo;
  readonly chain: readonly CertificateInfo[];
  readonly [brand]: true;
}

export interface IdentityParts {
  readonly sid: Uint8Array;
  /** [0] IMPLICIT CertificateSet with the signer certificate and chain. */
  readonly certsWithChain: Uint8Array;
  /** [0] IMPLICIT CertificateSet with the signer certificate only (Spine login token). */
  readonly certsLeafOnly: Uint8Array;
  readonly signingCertificateV2: Uint8Array;
  readonly modulusBytes: number;
  readonly certificate: CertificateInfo;
}

const parts = new WeakMap<SigningIdentity, IdentityParts>();

const oidCache = new Map<string, Uint8Array>();

/**
 * DER of an OBJECT IDENTIFIER, encoded once per OID (asn1js takes tens of microseconds per encoding, and
 * every signature needs several). The bytes are shared: callers copy them into a larger encoding, never
 * change them.
 */
export function oidDer(oid: string): Uint8Array {
  let der = oidCache.get(oid);
  if (der === undefined) {
    der = bytesOf(new asn1js.ObjectIdentifier({ value: oid }).toBER());
    oidCache.set(oid, der);
  }
  return der;
}

/** DER Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value } (RFC 5652 §5.3). */
export function attributeDer(oid: string, value: Uint8Array): Uint8Array {
  return tlv(0x30, oidDer(oid), derSetOf([value]));
}

/**
 * Parses the signer certificate (and optional chain) once and encodes the constant parts of every CMS that
 * this identity will sign. Throws `ERR_CERT_MALFORMED` or `ERR_CMS_BAD_INPUT` (not an RSA certificate).
 *
 * @example
 * ```ts
 * const identity = createSigningIdentity(signCertDer, [signCaDer]);
 * const der = await signCades({ content, identity, signer });
 * ```
 */
export function createSigningIdentity(
  certDer: Uint8Array,
  chainDer: readonly Uint8Array[] = [],
): SigningIdentity {
  const certificate = parseCertificate(certDer);
  const chain = chainDer.map((d) => parseCertificate(d));
  if (certificate.publicKey.algorithm !== 'RSA' || certificate.publicKey.bits < 1024) {
    throw cmsError('ERR_CMS_BAD_INPUT');
  }
  // The issuer Name and serial as parsed by parseCertificate (no second parse of the certificate).
  const { issuerDer, serialContent, fingerprint } = certificateInternals(certificate);
  const serial = tlv(0x02, serialContent);
  // RFC 5652 §10.2.4 IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }.
  const sid = tlv(0x30, issuerDer, serial);
  // RFC 5035 §5.4.1 IssuerSerial ::= SEQUENCE { GeneralNames (directoryName [4] EXPLICIT Name), serial }.
  const issuerSerial = tlv(0x30, tlv(0x30, tlv(0xa4, issuerDer)), serial);
  // The fingerprint is the SHA-256 of the certificate DER.
  const essCertIdV2 = tlv(0x30, tlv(0x04, Buffer.from(fingerprint, 'hex')), issuerSerial);
  const signingCertificateV2 = attributeDer(
    OID.signingCertificateV2,
    tlv(0x30, tlv(0x30, essCertIdV2)),
  );
  const all = [
    certificate,
    ...chain.filter((c) => c.fingerprintSha256 !== certificate.fingerprintSha256),
  ];
  const identity = Object.freeze({ certificate, chain: Object.freeze(chain) }) as SigningIdentity;
  parts.set(identity, {
    sid,
    certsWithChain: tlv(0xa0, ...all.map((c) => c.der)),
    certsLeafOnly: tlv(0xa0, certificate.der),
    signingCertificateV2,
    modulusBytes: Math.ceil(certificate.publicKey.bits / 8),
    certificate,
  });
  return identity;
}

/** The encoded parts of an identity; throws ERR_CMS_BAD_INPUT for an object not made here. */
export function identityParts(identity: SigningIdentity): IdentityParts {
  const p = parts.get(identity);
  if (p === undefined) {
    throw cmsError('ERR_CMS_BAD_INPUT');
  }
  return p;
}
