/**
 * HL7 v3 ParentPrescription signing: author/time := signing time, fragments, SignedInfo, Signature placed in
 * author/signatureText, and a check of the output document by rebuilding its digest.
 *
 * Rules (eps-signature.md §1.2–1.4, §1.7, §1.8):
 * - author/time/@value is set to the signing time in HL7 TS form (UTC `YYYYMMDDHHmmss`) BEFORE hashing,
 *   because time is the first hashed fragment;
 * - fragments and SignedInfo come from src/prescription (one implementation), RS256 unless RS1 is asked for;
 * - the Signature replaces `signatureText`'s content (a `nullFlavor="NA"` attribute or an old Signature);
 * - the rest of the document is serialised by xmldom's XMLSerializer with no reformatting;
 * - the output is parsed again and its SignedInfo rebuilt from its own fragments: it must equal the signed
 *   bytes, and the RSA signature must verify; otherwise nothing is returned (ERR_SIGN_SELF_CHECK_FAILED).
 */
import { verify, type KeyObject } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import {
  findParentPrescription,
  fragmentsFromDocument,
  signatureOfPrescription,
} from '../prescription/fragments.js';
import {
  XMLDSIG_NAMESPACE,
  buildSignedInfo,
  canonicalSignedInfoFromSignature,
  type SignatureAlgorithm,
} from '../prescription/signed-info.js';
import { isoToHl7Timestamp } from '../prescription/timestamp.js';
import { parseXml } from '../prescription/xml.js';
import { signError } from './errors.js';

type Doc = ReturnType<typeof parseXml>;

/** Largest HL7 v3 document accepted for signing. */
export const MAX_HL7_BYTES = 2 * 1024 * 1024;

/** A document ready for the card: the modified DOM and the SignedInfo bytes to sign. */
export interface PreparedHl7 {
  readonly doc: Doc;
  readonly signedInfo: Uint8Array;
  readonly prescriptionId: string | null;
  readonly authorTime: string;
}

function child(parent: Element, ns: string, name: string): Element {
  for (let c = parent.firstChild; c !== null; c = c.nextSibling) {
    if (
      c.nodeType === 1 &&
      (c as Element).localName === name &&
      ((c as Element).namespaceURI ?? '') === ns
    ) {
      return c as Element;
    }
  }
  throw signError('ERR_SIGN_BAD_INPUT', { detail: { missing: name } });
}

function authorOf(doc: Doc): { author: Element; ns: string; rx: Element } {
  const pp = findParentPrescription(doc);
  const ns = pp.namespaceURI ?? '';
  const rx = child(child(pp, ns, 'pertinentInformation1'), ns, 'pertinentPrescription');
  return { author: child(rx, ns, 'author'), ns, rx };
}

/**
 * Parses the document, sets author/time to `signingTime` and builds the SignedInfo to sign.
 *
 * @example
 * ```ts
 * const { doc, signedInfo } = prepareHl7(xmlBytes, new Date(), 'RS256');
 * ```
 */
export function prepareHl7(
  xml: Uint8Array | string,
  signingTime: Date,
  algorithm: SignatureAlgorithm,
): PreparedHl7 {
  const doc = parseXml(xml, { maxBytes: MAX_HL7_BYTES });
  const { author, ns, rx } = authorOf(doc);
  const authorTime = isoToHl7Timestamp(signingTime.toISOString());
  child(author, ns, 'time').setAttribute('value', authorTime);
  const signedInfo = buildSignedInfo(fragmentsFromDocument(doc), algorithm);
  let prescriptionId: string | null = null;
  try {
    const id = child(rx, ns, 'id').getAttribute('root');
    prescriptionId = id !== null && /^[\x20-\x7e]{1,256}$/.test(id) ? id : null;
  } catch {
    prescriptionId = null;
  }
  return { doc, signedInfo, prescriptionId, authorTime };
}

/**
 * Places the XML-DSig Signature into author/signatureText and serialises the document.
 *
 * @example
 * ```ts
 * const out = placeSignature(prepared.doc, xmlDsigSignature(prepared.signedInfo, sigB64, certB64));
 * ```
 */
export function placeSignature(doc: Doc, signatureXml: string): string {
  const { author, ns } = authorOf(doc);
  const signatureText = child(author, ns, 'signatureText');
  const sigDoc = parseXml(signatureXml);
  const sigRoot = sigDoc.documentElement;
  if (sigRoot === null || sigRoot.namespaceURI !== XMLDSIG_NAMESPACE) {
    throw signError('ERR_SIGN_SELF_CHECK_FAILED');
  }
  signatureText.removeAttribute('nullFlavor');
  while (signatureText.firstChild !== null) {
    signatureText.removeChild(signatureText.firstChild);
  }
  signatureText.appendChild(doc.importNode(sigRoot, true));
  return new XMLSerializer().serializeToString(doc as unknown as Node);
}

/**
 * Re-reads a signed document: the SignedInfo rebuilt from its fragments must equal `signedInfo`, the one in
 * its Signature too, and the signature must verify with `publicKey`.
 *
 * @example
 * ```ts
 * if (!checkSignedHl7(out, signedInfo, 'RS256', key.publicKey, sig)) throw …;
 * ```
 */
export function checkSignedHl7(
  output: string,
  signedInfo: Uint8Array,
  algorithm: SignatureAlgorithm,
  publicKey: KeyObject,
  signature: Uint8Array,
): boolean {
  const doc = parseXml(output, { maxBytes: MAX_HL7_BYTES * 2 });
  const rebuilt = buildSignedInfo(fragmentsFromDocument(doc), algorithm);
  const received = canonicalSignedInfoFromSignature(signatureOfPrescription(doc));
  const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
  return (
    same(rebuilt, signedInfo) &&
    same(received, signedInfo) &&
    verify(algorithm === 'RS256' ? 'sha256' : 'sha1', signedInfo, publicKey, signature)
  );
}
