/// <reference lib="dom" />
/**
 * The EPS "signature fragments" of an HL7 v3 ParentPrescription, canonicalised (eps-signature.md §1.2–1.3).
 *
 * Rules:
 * - the document holds exactly one ParentPrescription, in urn:hl7-org:v3 or (as the EPS vectors are
 *   written) in no namespace; none → ERR_PRESCRIPTION_NOT_FOUND, several → ERR_PRESCRIPTION_AMBIGUOUS;
 * - `pp/recordTarget`, `pp/pertinentInformation1/pertinentPrescription` (`rx`), `rx/id`, `rx/author`,
 *   `rx/author/time` and `rx/author/AgentPerson` exist (exactly one each, `rx/id` at least one) and there
 *   is at least one `rx/pertinentInformation2/pertinentLineItem`; otherwise ERR_PRESCRIPTION_MALFORMED;
 * - output: `<FragmentsToBeHashed>` (no namespace) holding, in order, `<Fragment>` with `rx/author/time`
 *   and `rx/id[0]` (EPS takes the first id), `<Fragment>` with `rx/author/AgentPerson`, `<Fragment>` with
 *   `pp/recordTarget`, then one `<Fragment>` per line item in document order; each copied root is in
 *   urn:hl7-org:v3 (see hashable-copy.ts for whitespace, namespaces and attribute values);
 * - in each line item `pertinentInformation4` (item status) is dropped and every `repeatNumber` is
 *   rebuilt as EPS does (`{ high: repeatNumber.high }`): its attributes and `low` go, `high` stays;
 * - `author/time/@value` may be replaced (the `$prepare` flow hashes the prepare timestamp);
 * - the result is exclusive C14N, UTF-8.
 */
import { DOMImplementation } from '@xmldom/xmldom';

import { exclusiveC14nBytes } from './c14n.js';
import { prescriptionError } from './errors.js';
import { hashableCopy } from './hashable-copy.js';
import { parseXml, type ParseXmlOptions } from './xml.js';

export const HL7_NAMESPACE = 'urn:hl7-org:v3';
const XMLDSIG_NAMESPACE = 'http://www.w3.org/2000/09/xmldsig#';

const ELEMENT = 1;
const HL7_TIMESTAMP = /^\d{14}$/;

/** Options of {@link buildFragmentsToBeHashed}. */
export interface FragmentOptions {
  /** Replaces `author/time/@value`: an HL7 TS `YYYYMMDDHHmmss` (see `isoToHl7Timestamp` in timestamp.ts). */
  readonly authorTime?: string;
}

/**
 * Parses an HL7 v3 document (a ParentPrescription, or a message holding exactly one) and returns the
 * canonical `FragmentsToBeHashed` bytes whose digest goes into the SignedInfo.
 *
 * @example
 * ```ts
 * const fragments = buildFragmentsToBeHashed(convertXml, { authorTime: isoToHl7Timestamp(timestamp) });
 * const signedInfo = buildSignedInfo(fragments, 'RS256');
 * ```
 */
export function buildFragmentsToBeHashed(
  xml: Uint8Array | string,
  options: FragmentOptions & ParseXmlOptions = {},
): Uint8Array {
  return fragmentsFromDocument(parseXml(xml, options), options);
}

/**
 * {@link buildFragmentsToBeHashed} for a document already parsed with `parseXml` (the verifier also
 * reads the Signature from it).
 *
 * @example
 * ```ts
 * const doc = parseXml(bytes, { rejectComments: true });
 * const fragments = fragmentsFromDocument(doc);
 * ```
 */
export function fragmentsFromDocument(doc: Document, options: FragmentOptions = {}): Uint8Array {
  if (options.authorTime !== undefined && !HL7_TIMESTAMP.test(options.authorTime)) {
    throw prescriptionError('ERR_PRESCRIPTION_TIMESTAMP_INVALID');
  }
  const pp = findParentPrescription(doc);
  const ns = pp.namespaceURI ?? '';
  const rx = one(one(pp, ns, 'pertinentInformation1'), ns, 'pertinentPrescription');
  const author = one(rx, ns, 'author');
  const time = one(author, ns, 'time');
  const id = children(rx, ns, 'id')[0];
  const agentPerson = one(author, ns, 'AgentPerson');
  const recordTarget = one(pp, ns, 'recordTarget');
  const lineItems = children(rx, ns, 'pertinentInformation2').map((pi2) =>
    one(pi2, ns, 'pertinentLineItem'),
  );
  if (id === undefined || lineItems.length === 0) {
    throw prescriptionError('ERR_PRESCRIPTION_MALFORMED');
  }

  const out = new DOMImplementation().createDocument(null, 'FragmentsToBeHashed', null);
  const root = out.documentElement;
  if (root === null) {
    throw new TypeError('fragments: no document element');
  }
  const copy = (element: Element): Element =>
    hashableCopy(element, out, { rootDefaultNamespace: HL7_NAMESPACE, normaliseAttributes: true });
  const fragment = (...parts: Element[]): void => {
    const f = out.createElementNS(null, 'Fragment');
    parts.forEach((part) => f.appendChild(part));
    root.appendChild(f);
  };

  const timeCopy = copy(time);
  if (options.authorTime !== undefined) {
    timeCopy.setAttribute('value', options.authorTime);
  }
  fragment(timeCopy, copy(id));
  fragment(copy(agentPerson));
  fragment(copy(recordTarget));
  for (const lineItem of lineItems) {
    fragment(withoutSpineEdits(copy(lineItem), out));
  }
  return exclusiveC14nBytes(root);
}

/**
 * Finds the one ParentPrescription (urn:hl7-org:v3 or no namespace) in a parsed document.
 *
 * @example
 * ```ts
 * const pp = findParentPrescription(parseXml(bytes));
 * ```
 */
export function findParentPrescription(doc: Document): Element {
  const found: Element[] = [];
  const all = doc.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) {
    const element = all.item(i);
    if (element !== null && element.localName === 'ParentPrescription') {
      const ns = element.namespaceURI ?? '';
      if (ns === HL7_NAMESPACE || ns === '') {
        found.push(element);
      }
    }
  }
  const [first, ...rest] = found;
  if (first === undefined) {
    throw prescriptionError('ERR_PRESCRIPTION_NOT_FOUND');
  }
  if (rest.length > 0) {
    throw prescriptionError('ERR_PRESCRIPTION_AMBIGUOUS', { detail: { count: found.length } });
  }
  return first;
}

/**
 * Returns the XML-DSig `Signature` in `rx/author/signatureText` of the one ParentPrescription (§1.7).
 *
 * @example
 * ```ts
 * const signature = signatureOfPrescription(parseXml(bytes, { rejectComments: true }));
 * const signedInfo = canonicalSignedInfoFromSignature(signature);
 * ```
 */
export function signatureOfPrescription(doc: Document): Element {
  const pp = findParentPrescription(doc);
  const ns = pp.namespaceURI ?? '';
  const rx = one(one(pp, ns, 'pertinentInformation1'), ns, 'pertinentPrescription');
  const signatureText = one(one(rx, ns, 'author'), ns, 'signatureText');
  const [signature, ...rest] = children(signatureText, XMLDSIG_NAMESPACE, 'Signature');
  if (signature === undefined || rest.length > 0) {
    throw prescriptionError('ERR_PRESCRIPTION_SIGNATURE_NOT_FOUND');
  }
  return signature;
}

/** Spine changes item status and `repeatNumber/low` after signing, so EPS hashes the item without them. */
function withoutSpineEdits(lineItem: Element, doc: Document): Element {
  for (const status of children(lineItem, HL7_NAMESPACE, 'pertinentInformation4')) {
    lineItem.removeChild(status);
  }
  for (const repeatNumber of children(lineItem, HL7_NAMESPACE, 'repeatNumber')) {
    const rebuilt = doc.createElementNS(HL7_NAMESPACE, repeatNumber.tagName);
    for (const high of children(repeatNumber, HL7_NAMESPACE, 'high')) {
      rebuilt.appendChild(high);
    }
    lineItem.replaceChild(rebuilt, repeatNumber);
  }
  return lineItem;
}

function children(parent: Element, ns: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let child = parent.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === ELEMENT) {
      const element = child as Element;
      if (element.localName === localName && (element.namespaceURI ?? '') === ns) {
        found.push(element);
      }
    }
  }
  return found;
}

function one(parent: Element, ns: string, localName: string): Element {
  const [only, ...rest] = children(parent, ns, localName);
  if (only === undefined || rest.length > 0) {
    throw prescriptionError('ERR_PRESCRIPTION_MALFORMED', { detail: { missing: localName } });
  }
  return only;
}
