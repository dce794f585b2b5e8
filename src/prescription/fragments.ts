/**
 * The EPS "signature fragments" of an HL7 v3 ParentPrescription, canonicalised (docs/protocol/eps-signing.md §1.2–1.3).
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
 *   urn:hl7-org:v3 (see hashable.ts and c14n.ts `hashable` for whitespace, namespaces and attribute values);
 * - in each line item `pertinentInformation4` (item status) is dropped and every `repeatNumber` is
 *   rebuilt as EPS does (`{ high: repeatNumber.high }`): its attributes and `low` go, `high` stays;
 * - `author/time/@value` may be replaced (the `$prepare` flow hashes the prepare timestamp; signing hashes
 *   the signing time before writing it into the document);
 * - the result is exclusive C14N, UTF-8.
 */
import { exclusiveC14nBytes } from './c14n.js';
import { prescriptionError } from './errors.js';
import { hashableNamespace, hashableRoot } from './hashable.js';
import { parseXml, type ParseXmlOptions } from './xml.js';
import {
  ELEMENT,
  XmlAttribute,
  XmlElement,
  buildElement,
  childElements,
  declaredDefaultNamespace,
  type XmlDocument,
  type XmlNode,
} from './xml-tree.js';

export const HL7_NAMESPACE = 'urn:hl7-org:v3';
const XMLDSIG_NAMESPACE = 'http://www.w3.org/2000/09/xmldsig#';

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
export function fragmentsFromDocument(doc: XmlDocument, options: FragmentOptions = {}): Uint8Array {
  if (options.authorTime !== undefined && !HL7_TIMESTAMP.test(options.authorTime)) {
    throw prescriptionError('ERR_PRESCRIPTION_TIMESTAMP_INVALID');
  }
  const pp = findParentPrescription(doc);
  const ns = pp.namespace;
  const rx = one(one(pp, ns, 'pertinentInformation1'), ns, 'pertinentPrescription');
  const author = one(rx, ns, 'author');
  const time = one(author, ns, 'time');
  const id = structural(rx, ns, 'id')[0];
  const agentPerson = one(author, ns, 'AgentPerson');
  const recordTarget = one(pp, ns, 'recordTarget');
  const lineItems = structural(rx, ns, 'pertinentInformation2').map((pi2) =>
    one(pi2, ns, 'pertinentLineItem'),
  );
  if (id === undefined || lineItems.length === 0) {
    throw prescriptionError('ERR_PRESCRIPTION_MALFORMED');
  }

  const view = (element: XmlElement): XmlElement => hashableRoot(element, HL7_NAMESPACE);
  const timeView =
    options.authorTime === undefined
      ? view(time)
      : hashableRoot(time, HL7_NAMESPACE, {
          attributes: withValue(time.attributes, options.authorTime),
        });
  return fragmentsFromParts({
    time: timeView,
    id: view(id),
    agentPerson: view(agentPerson),
    recordTarget: view(recordTarget),
    lineItems: lineItems.map(withoutSpineEdits),
  });
}

/** The fragment roots, each already as hashed (see hashable.ts `hashableRoot`). */
export interface FragmentRoots {
  readonly time: XmlElement;
  readonly id: XmlElement;
  readonly agentPerson: XmlElement;
  readonly recordTarget: XmlElement;
  /** Without item status, `repeatNumber` with `high` only. */
  readonly lineItems: readonly XmlElement[];
}

/**
 * The canonical `FragmentsToBeHashed` of fragment roots: shared by the HL7 v3 reader above and the FHIR
 * translation (src/prescription/fhir), so both hash exactly the same way.
 *
 * @example
 * ```ts
 * const bytes = fragmentsFromParts({ time, id, agentPerson, recordTarget, lineItems });
 * ```
 */
export function fragmentsFromParts(parts: FragmentRoots): Uint8Array {
  const fragment = (...children: XmlElement[]): XmlElement =>
    buildElement('Fragment', '', [], children);
  const root = buildElement(
    'FragmentsToBeHashed',
    '',
    [],
    [
      fragment(parts.time, parts.id),
      fragment(parts.agentPerson),
      fragment(parts.recordTarget),
      ...parts.lineItems.map((lineItem) => fragment(lineItem)),
    ],
  );
  return exclusiveC14nBytes(root, { hashable: true });
}

/**
 * Finds the one ParentPrescription (urn:hl7-org:v3 or no namespace) in a parsed document.
 *
 * @example
 * ```ts
 * const pp = findParentPrescription(parseXml(bytes));
 * ```
 */
export function findParentPrescription(doc: XmlDocument): XmlElement {
  let found: XmlElement | undefined;
  let count = 0;
  for (const element of doc.elements) {
    if (
      element.localName === 'ParentPrescription' &&
      (element.namespace === HL7_NAMESPACE || element.namespace === '')
    ) {
      found ??= element;
      count++;
    }
  }
  if (found === undefined) {
    throw prescriptionError('ERR_PRESCRIPTION_NOT_FOUND');
  }
  if (count > 1) {
    throw prescriptionError('ERR_PRESCRIPTION_AMBIGUOUS', { detail: { count } });
  }
  return found;
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
export function signatureOfPrescription(doc: XmlDocument): XmlElement {
  const pp = findParentPrescription(doc);
  const ns = pp.namespace;
  const rx = one(one(pp, ns, 'pertinentInformation1'), ns, 'pertinentPrescription');
  const signatureText = one(one(rx, ns, 'author'), ns, 'signatureText');
  const [signature, ...rest] = childElements(signatureText, XMLDSIG_NAMESPACE, 'Signature');
  if (signature === undefined || rest.length > 0) {
    throw prescriptionError('ERR_PRESCRIPTION_SIGNATURE_NOT_FOUND');
  }
  return signature;
}

/** `attributes` with `value` set to `value` (replaced in place, or added last). */
function withValue(attributes: readonly XmlAttribute[], value: string): XmlAttribute[] {
  const set = new XmlAttribute('value', '', 'value', '', value);
  const index = attributes.findIndex((a) => a.name === 'value');
  return index < 0 ? [...attributes, set] : attributes.map((a, i) => (i === index ? set : a));
}

/**
 * Spine changes item status and `repeatNumber/low` after signing, so EPS hashes the item without them: the
 * line item's view without `pertinentInformation4`, and each `repeatNumber` rebuilt with only its `high`
 * children and no attributes (namespaces as they are in the view).
 */
function withoutSpineEdits(lineItem: XmlElement): XmlElement {
  const lineDefault = declaredDefaultNamespace(lineItem) ?? HL7_NAMESPACE;
  const children: XmlNode[] = [];
  for (const child of lineItem.children) {
    if (child.type === ELEMENT && hashableNamespace(child, lineDefault) === HL7_NAMESPACE) {
      if (child.localName === 'pertinentInformation4') {
        continue;
      }
      if (child.localName === 'repeatNumber') {
        const inner = declaredDefaultNamespace(child) ?? lineDefault;
        const highs = child.children.filter(
          (c): c is XmlElement =>
            c.type === ELEMENT &&
            c.localName === 'high' &&
            hashableNamespace(c, inner) === HL7_NAMESPACE,
        );
        children.push(
          new XmlElement(
            child.name,
            child.prefix,
            child.localName,
            HL7_NAMESPACE,
            [],
            child.namespaces,
            -1,
            highs,
          ),
        );
        continue;
      }
    }
    children.push(child);
  }
  return hashableRoot(lineItem, HL7_NAMESPACE, { children });
}

/**
 * The children of `parent` named `localName` in the ParentPrescription's namespace `ns`. A child of that local
 * name in another namespace is refused (ERR_PRESCRIPTION_MALFORMED): it would not be hashed, while a reader
 * that uses the other namespace (or none) would see it — an extra line item or patient nobody signed.
 */
function structural(parent: XmlElement, ns: string, localName: string): XmlElement[] {
  for (const child of parent.children) {
    if (child.type === ELEMENT && child.localName === localName && child.namespace !== ns) {
      throw prescriptionError('ERR_PRESCRIPTION_MALFORMED', {
        detail: { foreignNamespace: localName },
      });
    }
  }
  return childElements(parent, ns, localName);
}

function one(parent: XmlElement, ns: string, localName: string): XmlElement {
  const [only, ...rest] = structural(parent, ns, localName);
  if (only === undefined || rest.length > 0) {
    throw prescriptionError('ERR_PRESCRIPTION_MALFORMED', { detail: { missing: localName } });
  }
  return only;
}
