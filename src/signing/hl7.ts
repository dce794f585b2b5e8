/**
 * HL7 v3 ParentPrescription signing: author/time := signing time, fragments, SignedInfo, Signature placed in
 * author/signatureText, and a check of the output document by rebuilding its digest.
 *
 * Rules (docs/protocol/eps-signing.md §1.2–1.4, §1.7, §1.8):
 * - author/time/@value is set to the signing time in HL7 TS form (UTC `YYYYMMDDHHmmss`) and that is the time
 *   hashed, because time is the first hashed fragment;
 * - fragments and SignedInfo come from src/prescription (one implementation), RS256 unless RS1 is asked for;
 * - the Signature replaces `signatureText`'s content (a `nullFlavor="NA"` attribute or an old Signature);
 * - the output is the input text with exactly those two edits spliced in at their source offsets: nothing
 *   else is re-serialised or reformatted (declaration, quotes, references and whitespace stay as they were);
 * - the output is parsed again and its SignedInfo rebuilt from its own fragments: it must equal the signed
 *   bytes, and the RSA signature must verify; otherwise nothing is returned (ERR_SIGN_SELF_CHECK_FAILED).
 */
import { verify, type KeyObject } from 'node:crypto';
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
import {
  ELEMENT,
  attributeValue,
  type XmlDocument,
  type XmlElement,
} from '../prescription/xml-tree.js';
import { signError } from './errors.js';

/** Largest HL7 v3 document accepted for signing. */
export const MAX_HL7_BYTES = 2 * 1024 * 1024;

/** A document ready for the card: the parsed input, its new author/time and the SignedInfo bytes to sign. */
export interface PreparedHl7 {
  readonly doc: XmlDocument;
  readonly signedInfo: Uint8Array;
  readonly prescriptionId: string | null;
  readonly authorTime: string;
}

function child(parent: XmlElement, ns: string, name: string): XmlElement {
  for (const c of parent.children) {
    if (c.type === ELEMENT && c.localName === name && c.namespace === ns) {
      return c;
    }
  }
  throw signError('ERR_SIGN_BAD_INPUT', { detail: { missing: name } });
}

function authorOf(doc: XmlDocument): { author: XmlElement; ns: string; rx: XmlElement } {
  const pp = findParentPrescription(doc);
  const ns = pp.namespace;
  const rx = child(child(pp, ns, 'pertinentInformation1'), ns, 'pertinentPrescription');
  return { author: child(rx, ns, 'author'), ns, rx };
}

/**
 * Parses the document and builds the SignedInfo to sign, with author/time := `signingTime`.
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
  child(author, ns, 'time');
  const signedInfo = buildSignedInfo(fragmentsFromDocument(doc, { authorTime }), algorithm);
  let prescriptionId: string | null = null;
  try {
    const id = attributeValue(child(rx, ns, 'id'), 'root') ?? null;
    prescriptionId = id !== null && /^[\x20-\x7e]{1,256}$/.test(id) ? id : null;
  } catch {
    prescriptionId = null;
  }
  return { doc, signedInfo, prescriptionId, authorTime };
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Writes author/time and places the XML-DSig Signature into author/signatureText, by splicing the source.
 *
 * @example
 * ```ts
 * const out = placeSignature(prepared, xmlDsigSignature(prepared.signedInfo, sigB64, certB64));
 * ```
 */
export function placeSignature(
  prepared: Pick<PreparedHl7, 'doc' | 'authorTime'>,
  signatureXml: string,
): string {
  const { doc, authorTime } = prepared;
  const { author, ns } = authorOf(doc);
  const time = child(author, ns, 'time');
  const signatureText = child(author, ns, 'signatureText');
  const sigRoot = parseXml(signatureXml).root;
  if (sigRoot.namespace !== XMLDSIG_NAMESPACE || !/^\d{14}$/.test(authorTime)) {
    throw signError('ERR_SIGN_SELF_CHECK_FAILED');
  }
  const source = doc.source;
  const value = time.attributes.find((a) => a.name === 'value');
  const timeEdit: Edit =
    value === undefined
      ? {
          start: time.start + 1 + time.name.length,
          end: time.start + 1 + time.name.length,
          text: ` value="${authorTime}"`,
        }
      : { start: value.start, end: value.end, text: `value="${authorTime}"` };
  // The new signatureText: its start tag as written, less nullFlavor, then the Signature, then its end tag.
  const kept = [
    ...signatureText.namespaces,
    ...signatureText.attributes.filter((a) => a.name !== 'nullFlavor'),
  ]
    .sort((a, b) => a.start - b.start)
    .map((a) => ` ${source.slice(a.start, a.end)}`)
    .join('');
  const name = signatureText.name;
  const signatureEdit: Edit = {
    start: signatureText.start,
    end: signatureText.end,
    text: `<${name}${kept}>${signatureXml}</${name}>`,
  };
  const edits = [timeEdit, signatureEdit].sort((a, b) => a.start - b.start);
  let out = '';
  let last = 0;
  for (const edit of edits) {
    if (edit.start < last) {
      throw signError('ERR_SIGN_SELF_CHECK_FAILED'); // overlapping edits: time inside signatureText
    }
    out += source.slice(last, edit.start) + edit.text;
    last = edit.end;
  }
  return out + source.slice(last);
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
