/**
 * The algorithm allowlist and the signature maths (node:crypto), internal to src/cms.
 *
 * Rules:
 * - only RSA PKCS#1 v1.5 (RFC 8017 §8.2) and ECDSA (RFC 5758 §3.2) with SHA-1/SHA-2 are known; anything else
 *   (RSASSA-PSS, MD5, DSA) is reported as unsupported before any maths runs (STYLE §19);
 * - the hash of a combined `shaXWithRSAEncryption` OID must agree with the CMS digestAlgorithm when both are given.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
} as const;

const DIGESTS: Readonly<Record<string, HashName>> = {
  [OID.sha1]: 'SHA-1',
  [OID.sha256]: 'SHA-256',
  [OID.sha384]: 'SHA-384',
  [OID.sha512]: 'SHA-512',
};

/** Signature algorithm OID → key type, hash and the name used in CertificateInfo. */
const SIGNATURES: Readonly<
  Record<string, { key: 'RSA' | 'EC'; hash: HashName | undefined; name: string }>
> = {
  '1.2.840.113549.1.1.5': { key: 'RSA', hash: 'SHA-1', name: 'sha1WithRSAEncryption' },
  '1.2.840.113549.1.1.11': { key: 'RSA', hash: 'SHA-256', name: 'sha256WithRSAEncryption' },
  '1.2.840.113549.1.1.12': { key: 'RSA', hash: 'SHA-384', name: 'sha384WithRSAEncryption' },
  '1.2.840.113549.1.1.13': { key: 'RSA', hash: 'SHA-512', name: 'sha512WithRSAEncryption' },
  [OID.rsaEncryption]: { key: 'RSA', hash: undefined, name: 'rsaEncryption' },
  '1.2.840.10045.4.1': { key: 'EC', hash: 'SHA-1', name: 'ecdsa-with-SHA1' },
  '1.2.840.10045.4.3.2': { key: 'EC', hash: 'SHA-256', name: 'ecdsa-with-SHA256' },
  '1.2.840.10045.4.3.3': { key: 'EC', hash: 'SHA-384', name: 'ecdsa-with-SHA384' },
  '1.2.840.10045.4.3.4': { key: 'EC', hash: 'SHA-512', name: 'ecdsa-with-SHA512' },
};

export function digestName(oid: string): HashName | undefined {
  return DIGESTS[oid];
}

export function digestOid(hash: HashName): string {
  return hash === 'SHA-1'
    ? OID.sha1
    : hash === 'SHA-256'
      ? OID.sha256
      : hash === 'SHA-384'
        ? OID.sha384
        : OID.sha512;
}

export function signatureName(oid: string): string {
  return SIGNATURES[oid]?.name ?? oid;
}

export function nodeHash(hash: HashName): string {
  return hash.replace('-', '').toLowerCase();
}

export function digest(hash: HashName, data: Uint8Array): Uint8Array {
  return createHash(nodeHash(hash)).update(data).digest();
}

export function keyFromSpki(spkiDer: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
}

export type SignatureOutcome = 'valid' | 'invalid' | 'unsupported';

/**
 * Verifies `signature` over `data`. `sigOid` is a signature algorithm OID; `digestHash` is the CMS digest
 * algorithm where the signature OID is bare `rsaEncryption` (RFC 5754 §3.2 allows either form).
 */
export function verifySignature(
  key: KeyObject,
  sigOid: string,
  data: Uint8Array,
  signature: Uint8Array,
  digestHash?: HashName,
): SignatureOutcome {
  const alg = SIGNATURES[sigOid];
  if (alg === undefined) {
    return 'unsupported';
  }
  const hash = alg.hash ?? digestHash;
  if (
    hash === undefined ||
    (alg.hash !== undefined && digestHash !== undefined && alg.hash !== digestHash)
  ) {
    return 'unsupported';
  }
  const keyType =
    key.asymmetricKeyType === 'rsa' ? 'RSA' : key.asymmetricKeyType === 'ec' ? 'EC' : undefined;
  if (keyType !== alg.key) {
    return 'unsupported';
  }
  try {
    return verify(nodeHash(hash), data, key, signature) ? 'valid' : 'invalid';
  } catch {
    // A signature of the wrong length or a malformed ECDSA value is simply not a valid signature.
    return 'invalid';
  }
}

/** Hash named in a signature algorithm OID, if any. */
export function signatureHash(sigOid: string): HashName | undefined {
  return SIGNATURES[sigOid]?.hash;
}
