/**
 * CMS SignedData creation where only the RSA signing step happens on the card (the `signer` callback).
 *
 * Rules:
 * - CAdES-BES (ETSI EN 319 122-1 §5.2, RFC 5652 §5.3/§11): SHA-256; signed attributes contentType (id-data),
 *   messageDigest (SHA-256 of the content, node:crypto), signingTime (UTCTime 1950–2049, else
 *   GeneralizedTime, RFC 5652 §11.3) and signingCertificateV2 (RFC 5035); the card signs the DER SET OF the
 *   signed attributes (RFC 5652 §5.4), which is DER-sorted (X.690 §11.6);
 * - Spine login token (docs/protocol/cis-login.md §1.3): SignedData v1, attached id-data eContent, NO signed attributes,
 *   digest sha1 (or sha256) with NULL parameters, rsaEncryption, one certificate; the card signs the raw
 *   challenge;
 * - the signer's output must be an RSA signature of the modulus length and verify with the certificate's key
 *   (a card holding another key is caught here) → otherwise ERR_CMS_SIGNER_FAILED;
 * - per-request work is hashing plus byte concatenation: all constant DER comes from the SigningIdentity (made
 *   once per card session), and the SignedData around the signed attributes is sized first and written into
 *   one buffer, so the content and the certificates are copied once.
 */
import { createHash, verify } from 'node:crypto';
import { OID, digestOid, keyFromSpki, nodeHash } from './algorithms.js';
import { tlv, derSetOf } from './der.js';
import { cmsError } from './errors.js';
import {
  attributeDer,
  identityParts,
  oidDer,
  type IdentityParts,
  type SigningIdentity,
} from './identity.js';
import { derToPem } from './pem.js';
import { ServiceError } from '../errors.js';
import type { KeyObject } from 'node:crypto';

export { createSigningIdentity, type SigningIdentity } from './identity.js';

/** Signs `data` with RSA PKCS#1 v1.5 and the given hash (on the card: CKM_SHA256_RSA_PKCS / CKM_SHA1_RSA_PKCS). */
export type RsaSigner = (data: Uint8Array, hash: 'SHA-1' | 'SHA-256') => Promise<Uint8Array>;

const NULL = Uint8Array.of(0x05, 0x00);
const INT_1 = Uint8Array.of(0x02, 0x01, 0x01);
const RSA_ALG = tlv(0x30, oidDer(OID.rsaEncryption), NULL);
const SIGNED_DATA_OID = oidDer(OID.signedData);
const DATA_OID = oidDer(OID.data);
const CONTENT_TYPE_ATTR = attributeDer(OID.contentType, DATA_OID);
const MESSAGE_DIGEST_OID = oidDer(OID.messageDigest);
const SIGNING_TIME_OID = oidDer(OID.signingTime);
const SHA256_ALG = tlv(0x30, oidDer(digestOid('SHA-256')));
const keys = new WeakMap<IdentityParts, KeyObject>();

function timeDer(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const y = d.getUTCFullYear();
  const body = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  return y >= 1950 && y < 2050
    ? tlv(0x17, Buffer.from(body.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(body, 'ascii'));
}

function assertBytes(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw cmsError('ERR_CMS_BAD_INPUT');
  }
}

async function cardSign(
  signer: RsaSigner,
  p: IdentityParts,
  data: Uint8Array,
  hash: 'SHA-1' | 'SHA-256',
): Promise<Uint8Array> {
  let sig: unknown;
  try {
    sig = await signer(data, hash);
  } catch (cause) {
    throw cause instanceof ServiceError ? cause : cmsError('ERR_CMS_SIGNER_FAILED', { cause });
  }
  if (!(sig instanceof Uint8Array) || sig.length !== p.modulusBytes) {
    throw cmsError('ERR_CMS_SIGNER_FAILED');
  }
  let key = keys.get(p);
  if (key === undefined) {
    key = keyFromSpki(p.certificate.publicKey.spkiDer);
    keys.set(p, key);
  }
  if (!verify(nodeHash(hash), data, key, sig)) {
    throw cmsError('ERR_CMS_SIGNER_FAILED');
  }
  return sig;
}

/** A DER TLV whose length is known before anything is written: constant pieces stay as they are. */
interface Node {
  readonly tag: number;
  readonly parts: readonly (Uint8Array | Node)[];
  readonly length: number;
  readonly size: number;
}

/** X.690 §8.1.3 definite length: octets for a length of `n` (short form, or 0x8k and k octets). */
function lengthSize(n: number): number {
  if (n < 0x80) {
    return 1;
  }
  let octets = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) {
    octets += 1;
  }
  return 1 + octets;
}

function node(tag: number, ...parts: (Uint8Array | Node)[]): Node {
  const length = parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.length : p.size), 0);
  return { tag, parts, length, size: 1 + lengthSize(length) + length };
}

function writeNode(n: Node, out: Uint8Array, start: number): number {
  let at = start;
  out[at++] = n.tag;
  const lengthOctets = lengthSize(n.length);
  if (lengthOctets === 1) {
    out[at++] = n.length;
  } else {
    out[at++] = 0x80 | (lengthOctets - 1);
    for (let i = lengthOctets - 2, v = n.length; i >= 0; i--, v = Math.floor(v / 256)) {
      out[at + i] = v & 0xff;
    }
    at += lengthOctets - 1;
  }
  for (const p of n.parts) {
    if (p instanceof Uint8Array) {
      out.set(p, at);
      at += p.length;
    } else {
      at = writeNode(p, out, at);
    }
  }
  return at;
}

/** One allocation, each piece copied once. */
function encode(root: Node): Uint8Array {
  const out = Buffer.alloc(root.size);
  writeNode(root, out, 0);
  return out;
}

function contentInfo(parts: {
  digestAlg: Uint8Array;
  content: Uint8Array | undefined;
  certs: Uint8Array;
  signerInfo: Node;
}): Uint8Array {
  const encap =
    parts.content === undefined
      ? node(0x30, DATA_OID)
      : node(0x30, DATA_OID, node(0xa0, node(0x04, parts.content)));
  const signedData = node(
    0x30,
    INT_1,
    node(0x31, parts.digestAlg),
    encap,
    parts.certs,
    node(0x31, parts.signerInfo),
  );
  return encode(node(0x30, SIGNED_DATA_OID, node(0xa0, signedData)));
}

/**
 * CAdES-BES SignedData (SHA-256) over `content`, attached or detached; returns DER.
 *
 * @example
 * ```ts
 * const identity = createSigningIdentity(certDer, [signCaDer]);
 * const der = await signCades({ content, identity, signer: (data, hash) => card.sign(data, hash) });
 * ```
 */
export async function signCades(opts: {
  content: Uint8Array;
  identity: SigningIdentity;
  signer: RsaSigner;
  detached?: boolean;
  signingTime?: Date;
  /** Include the identity's chain certificates (default true). */
  includeChain?: boolean;
}): Promise<Uint8Array> {
  assertBytes(opts.content);
  const p = identityParts(opts.identity);
  const time = opts.signingTime ?? new Date();
  if (Number.isNaN(time.getTime())) {
    throw cmsError('ERR_CMS_BAD_INPUT');
  }
  // Copy the caller's content before the first await (STYLE §21).
  const content = opts.detached === true ? undefined : Uint8Array.from(opts.content);
  const md = createHash('sha256').update(opts.content).digest();
  const attrs = [
    CONTENT_TYPE_ATTR,
    tlv(0x30, MESSAGE_DIGEST_OID, tlv(0x31, tlv(0x04, md))),
    tlv(0x30, SIGNING_TIME_OID, tlv(0x31, timeDer(time))),
    p.signingCertificateV2,
  ];
  const signedSet = derSetOf(attrs);
  const signature = await cardSign(opts.signer, p, signedSet, 'SHA-256');
  const digestAlg = SHA256_ALG;
  // [0] IMPLICIT SET OF: the signed bytes with their tag changed from SET (0x31) to [0] (RFC 5652 §5.4).
  const signedAttrs = Uint8Array.from(signedSet);
  signedAttrs[0] = 0xa0;
  const signerInfo = node(
    0x30,
    INT_1,
    p.sid,
    digestAlg,
    signedAttrs,
    RSA_ALG,
    node(0x04, signature),
  );
  return contentInfo({
    digestAlg,
    content,
    certs: opts.includeChain === false ? p.certsLeafOnly : p.certsWithChain,
    signerInfo,
  });
}

/**
 * The Spine login token: SignedData v1 over the raw challenge, no signed attributes (docs/protocol/cis-login.md §1.3).
 *
 * @example
 * ```ts
 * const der = await signChallenge({ challenge, identity: authIdentity, signer });
 * ```
 */
export async function signChallenge(opts: {
  challenge: Uint8Array;
  identity: SigningIdentity;
  signer: RsaSigner;
  hash?: 'SHA-1' | 'SHA-256';
}): Promise<Uint8Array> {
  assertBytes(opts.challenge);
  const p = identityParts(opts.identity);
  const hash = opts.hash ?? 'SHA-1';
  if (hash !== 'SHA-1' && hash !== 'SHA-256') {
    throw cmsError('ERR_CMS_BAD_INPUT');
  }
  const challenge = Uint8Array.from(opts.challenge);
  const signature = await cardSign(opts.signer, p, challenge, hash);
  const digestAlg = tlv(0x30, oidDer(digestOid(hash)), NULL);
  const signerInfo = node(0x30, INT_1, p.sid, digestAlg, RSA_ALG, node(0x04, signature));
  return contentInfo({ digestAlg, content: challenge, certs: p.certsLeafOnly, signerInfo });
}

/**
 * PEM text (`-----BEGIN CMS-----`, RFC 7468 §9) of a DER CMS.
 *
 * @example
 * ```ts
 * writeFileSync('out.pem', toPem(await signCades({ content, identity, signer })));
 * ```
 */
export function toPem(der: Uint8Array): string {
  return derToPem(der, 'CMS');
}
