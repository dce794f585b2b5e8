/**
 * The XML-DSig SignedInfo of an EPS prescription signature (docs/protocol/eps-signing.md §1.4, §2.3, §2.4).
 *
 * Rules:
 * - built SignedInfo is byte for byte the EPS template (vectors/eps/signedinfo-templates.txt): default
 *   namespace xmldsig, exc-c14n, one Reference with no URI and no Id, one exc-c14n Transform;
 * - algorithms are an allowlist of two pairs: RS256 = rsa-sha256 + sha256, RS1 = rsa-sha1 + sha1;
 *   anything else, a mixed pair, or a CanonicalizationMethod other than exc-c14n is
 *   ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED (EPS would silently fall back to SHA-1);
 * - a received Signature has exactly one SignedInfo, which has exactly one CanonicalizationMethod,
 *   SignatureMethod and Reference, which has exactly one DigestMethod and DigestValue; DigestValue holds
 *   text only (CVE-2025-29775: a comment inside it must not change what is read) and strict base64;
 * - a received SignedInfo is canonicalised as EPS does: its own attributes are replaced by the xmlns
 *   of Signature, then the hashable view (whitespace-only text dropped, EPS attribute values) is written
 *   with exclusive C14N.
 */
import { hash } from 'node:crypto';

import { exclusiveC14nBytes } from './c14n.js';
import { prescriptionError } from './errors.js';
import { hashableRoot } from './hashable.js';
import { parseXml } from './xml.js';
import {
  ELEMENT,
  TEXT,
  attributeValue,
  declaredDefaultNamespace,
  type XmlElement,
} from './xml-tree.js';

const UTF8 = new TextEncoder();

export const XMLDSIG_NAMESPACE = 'http://www.w3.org/2000/09/xmldsig#';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** The `algorithm` of EPS `$prepare`. */
export type SignatureAlgorithm = 'RS256' | 'RS1';

interface AlgorithmSpec {
  readonly signatureMethod: string;
  readonly digestMethod: string;
  readonly hash: 'sha256' | 'sha1';
}

const ALGORITHMS: Readonly<Record<SignatureAlgorithm, AlgorithmSpec>> = {
  RS256: {
    signatureMethod: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    digestMethod: 'http://www.w3.org/2001/04/xmlenc#sha256',
    hash: 'sha256',
  },
  RS1: {
    signatureMethod: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    digestMethod: 'http://www.w3.org/2000/09/xmldsig#sha1',
    hash: 'sha1',
  },
};

/** What a received SignedInfo declares (see {@link parseSignedInfoAlgorithm}). */
export interface SignedInfoAlgorithm {
  readonly algorithm: SignatureAlgorithm;
  /** Node.js hash name for `crypto.verify` and for the fragments digest. */
  readonly hash: 'sha256' | 'sha1';
  /** base64 of the fragments digest, whitespace removed. */
  readonly digestValue: string;
}

/**
 * The base64 DigestValue EPS computes over the canonical fragments.
 *
 * @example
 * ```ts
 * digestValue(fragments, 'RS256'); // 'OgY9iI+Ns88jp5PNeyRlDOMII1khOArleGLN/fmIMd4='
 * ```
 */
export function digestValue(fragmentsCanonical: Uint8Array, algorithm: SignatureAlgorithm): string {
  // One-shot crypto.hash (Node ≥ 20.12) spares the Hash object of createHash for each document.
  return hash(specOf(algorithm).hash, fragmentsCanonical, 'base64');
}

/**
 * Builds the canonical SignedInfo bytes for the fragments: what `$prepare` returns base64-encoded as
 * `digest`, and what the card signs.
 *
 * @example
 * ```ts
 * const signedInfo = buildSignedInfo(buildFragmentsToBeHashed(xml, { authorTime }), 'RS256');
 * Buffer.from(signedInfo).toString('base64'); // === the `digest` parameter
 * ```
 */
export function buildSignedInfo(
  fragmentsCanonical: Uint8Array,
  algorithm: SignatureAlgorithm,
): Uint8Array {
  return UTF8.encode(signedInfoText(specOf(algorithm), digestValue(fragmentsCanonical, algorithm)));
}

/** The EPS template (docs/protocol/eps-signing.md §1.4) around a DigestValue. */
function signedInfoText(spec: AlgorithmSpec, digest: string): string {
  return (
    `<SignedInfo xmlns="${XMLDSIG_NAMESPACE}">` +
    `<CanonicalizationMethod Algorithm="${EXC_C14N}"></CanonicalizationMethod>` +
    `<SignatureMethod Algorithm="${spec.signatureMethod}"></SignatureMethod>` +
    `<Reference><Transforms><Transform Algorithm="${EXC_C14N}"></Transform></Transforms>` +
    `<DigestMethod Algorithm="${spec.digestMethod}"></DigestMethod>` +
    `<DigestValue>${digest}</DigestValue>` +
    `</Reference></SignedInfo>`
  );
}

/** Base64 length of each digest: SHA-256 32 bytes → 44 characters, SHA-1 20 bytes → 28. */
const DIGEST_B64_LENGTH: Readonly<Record<'sha256' | 'sha1', number>> = { sha256: 44, sha1: 28 };

/**
 * Checks that a SignedInfo to be signed (the decoded `$prepare` digest) is exactly EPS's template
 * (docs/protocol/eps-signing.md §1.4) for `algorithm`: parsed with the project's XML parser (no DTD, no
 * comment), a `SignedInfo` in the xmldsig namespace holding one CanonicalizationMethod (exc-c14n), one
 * SignatureMethod and one Reference with one exc-c14n Transform, one DigestMethod and one DigestValue (strict
 * base64 of a digest of the right length), and byte for byte the canonical template around that DigestValue:
 * no other element, attribute (URI, Id), text or whitespace. A SignatureMethod or DigestMethod that is not the
 * pair of `algorithm` is ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED; anything else ERR_SIGNED_INFO_MALFORMED.
 *
 * @example
 * ```ts
 * checkEpsSignedInfo(new TextDecoder().decode(bytes), 'RS256'); // throws for <SignedInfo>anything</SignedInfo>
 * ```
 */
export function checkEpsSignedInfo(text: string, algorithm: SignatureAlgorithm): void {
  const spec = specOf(algorithm);
  let root: XmlElement;
  try {
    root = parseXml(text, { maxBytes: 16 * 1024, maxDepth: 8, rejectComments: true }).root;
  } catch (cause) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', { cause, detail: { reason: 'XML' } });
  }
  if (root.localName !== 'SignedInfo' || root.namespace !== XMLDSIG_NAMESPACE) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', { detail: { reason: 'SignedInfo' } });
  }
  const reference = dsigChild(root, 'Reference');
  const signatureMethod = algorithmOf(dsigChild(root, 'SignatureMethod'));
  const digestMethod = algorithmOf(dsigChild(reference, 'DigestMethod'));
  if (signatureMethod !== spec.signatureMethod || digestMethod !== spec.digestMethod) {
    throw prescriptionError('ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED');
  }
  if (algorithmOf(dsigChild(root, 'CanonicalizationMethod')) !== EXC_C14N) {
    throw prescriptionError('ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED');
  }
  const digest = dsigChild(reference, 'DigestValue');
  const value =
    digest.children.length === 1 && digest.children[0]?.type === TEXT
      ? digest.children[0].value
      : '';
  if (
    value.length !== DIGEST_B64_LENGTH[spec.hash] ||
    !/^[A-Za-z0-9+/]+=*$/.test(value) ||
    Buffer.from(value, 'base64').toString('base64') !== value
  ) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', { detail: { reason: 'DigestValue' } });
  }
  if (text !== signedInfoText(spec, value)) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', {
      detail: { reason: 'not the template' },
    });
  }
}

/**
 * Reads and allowlists the algorithms and the DigestValue of the SignedInfo in a `Signature` element.
 *
 * @example
 * ```ts
 * const { algorithm, hash, digestValue } = parseSignedInfoAlgorithm(signatureElement);
 * ```
 */
export function parseSignedInfoAlgorithm(signature: XmlElement): SignedInfoAlgorithm {
  const signedInfo = signedInfoOf(signature);
  const c14n = algorithmOf(dsigChild(signedInfo, 'CanonicalizationMethod'));
  const signatureMethod = algorithmOf(dsigChild(signedInfo, 'SignatureMethod'));
  const reference = dsigChild(signedInfo, 'Reference');
  const digestMethod = algorithmOf(dsigChild(reference, 'DigestMethod'));
  const digest = dsigChild(reference, 'DigestValue');
  const entry = (Object.entries(ALGORITHMS) as [SignatureAlgorithm, AlgorithmSpec][]).find(
    ([, spec]) => spec.signatureMethod === signatureMethod && spec.digestMethod === digestMethod,
  );
  if (c14n !== EXC_C14N || entry === undefined) {
    throw prescriptionError('ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED');
  }
  let text = '';
  for (const node of digest.children) {
    if (node.type !== TEXT) {
      throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', {
        detail: { reason: 'DigestValue content' },
      });
    }
    text += node.value;
  }
  const value = text.replace(/[ \t\r\n]+/g, '');
  if (
    !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value) ||
    value === ''
  ) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', {
      detail: { reason: 'DigestValue base64' },
    });
  }
  return { algorithm: entry[0], hash: entry[1].hash, digestValue: value };
}

/**
 * Canonicalises the SignedInfo of a received `Signature` the way EPS does before comparing it with
 * {@link buildSignedInfo} and before the RSA check (§2.3–2.4).
 *
 * @example
 * ```ts
 * const received = canonicalSignedInfoFromSignature(signatureElement);
 * Buffer.from(received).equals(buildSignedInfo(fragments, algorithm)); // digest matches
 * crypto.verify(hash, received, certificate.publicKey, signatureValue);
 * ```
 */
export function canonicalSignedInfoFromSignature(signature: XmlElement): Uint8Array {
  const signedInfo = signedInfoOf(signature);
  const c14n = algorithmOf(dsigChild(signedInfo, 'CanonicalizationMethod'));
  if (c14n !== EXC_C14N) {
    throw prescriptionError('ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED');
  }
  // EPS: the attributes of SignedInfo := { xmlns: Signature/@xmlns }.
  const root = hashableRoot(signedInfo, declaredDefaultNamespace(signature) ?? '', {
    attributes: [],
    replaceDefault: true,
  });
  return exclusiveC14nBytes(root, { hashable: true });
}

function specOf(algorithm: SignatureAlgorithm): AlgorithmSpec {
  // Callers from JavaScript or JSON may pass anything: check before any crypto runs.
  if (algorithm !== 'RS256' && algorithm !== 'RS1') {
    throw prescriptionError('ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED');
  }
  return ALGORITHMS[algorithm];
}

function signedInfoOf(signature: XmlElement): XmlElement {
  if (signature.localName !== 'Signature' || signature.namespace !== XMLDSIG_NAMESPACE) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', { detail: { reason: 'Signature' } });
  }
  return dsigChild(signature, 'SignedInfo');
}

/** Exactly one child element `localName` in the xmldsig namespace (CVE-2025-29774: one SignedInfo). */
function dsigChild(parent: XmlElement, localName: string): XmlElement {
  let only: XmlElement | undefined;
  let count = 0;
  for (const child of parent.children) {
    if (
      child.type === ELEMENT &&
      child.localName === localName &&
      child.namespace === XMLDSIG_NAMESPACE
    ) {
      only ??= child;
      count++;
    }
  }
  if (only === undefined || count > 1) {
    throw prescriptionError('ERR_SIGNED_INFO_MALFORMED', { detail: { reason: localName } });
  }
  return only;
}

function algorithmOf(element: XmlElement): string {
  return attributeValue(element, 'Algorithm') ?? '';
}
