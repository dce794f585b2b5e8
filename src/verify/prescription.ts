/**
 * Verification of an HL7 v3 ParentPrescription (or a message holding exactly one). Rules, in order:
 * - size ≤ `maxBytes` (default 10 MiB), checked before decoding → FORMAT_FAILURE;
 * - safe parse (parseXml: no DOCTYPE/ENTITY, no PI, strict UTF-8, depth ≤ 256) → FORMAT_FAILURE;
 * - exactly one ParentPrescription, its Signature at `pertinentPrescription/author/signatureText`, and that
 *   Signature is the only one in the document (signature wrapping) → FORMAT_FAILURE "Invalid signature format";
 * - `author/time` is the signing time; the fragments must be buildable → FORMAT_FAILURE;
 * - then the shared sequence of xml-signature.ts.
 */
import type { VerificationReport } from '../cms/index.js';
import {
  findParentPrescription,
  fragmentsFromDocument,
  signatureOfPrescription,
  parseXml,
  ELEMENT,
  attributeValue,
  type XmlDocument,
  type XmlElement,
} from '../prescription/index.js';
import type { TrustContext } from './context.js';
import { OWN_MESSAGES } from './messages.js';
import { hl7Time } from './signing-time.js';
import { formatFailure, verifyXmlSignature } from './xml-signature.js';

export const HL7_FORMAT = 'HL7v3-XMLDSig';

/** Parses and locates the prescription's parts; `undefined` when the document is not one. */
export function readPrescription(
  bytes: Uint8Array,
  maxBytes: number,
  authorTime?: string,
):
  | {
      doc: XmlDocument;
      signature: XmlElement | undefined;
      fragments: Uint8Array;
      signingTime: Date | undefined;
    }
  | undefined {
  let doc: XmlDocument;
  try {
    doc = parseXml(bytes, { maxBytes, maxDepth: 256 });
  } catch {
    return undefined;
  }
  try {
    const pp = findParentPrescription(doc);
    const timeValue = authorTimeOf(pp);
    const fragments = fragmentsFromDocument(doc, authorTime === undefined ? {} : { authorTime });
    let signature: XmlElement | undefined;
    try {
      signature = signatureOfPrescription(doc);
    } catch {
      signature = undefined;
    }
    return {
      doc,
      signature,
      fragments,
      signingTime: timeValue === undefined ? undefined : hl7Time(timeValue),
    };
  } catch {
    return undefined;
  }
}

/** The first child element named `localName`, in any namespace. */
function child(parent: XmlElement | undefined, localName: string): XmlElement | undefined {
  for (const n of parent?.children ?? []) {
    if (n.type === ELEMENT && n.localName === localName) {
      return n;
    }
  }
  return undefined;
}

function authorTimeOf(pp: XmlElement): string | undefined {
  const time = child(
    child(child(child(pp, 'pertinentInformation1'), 'pertinentPrescription'), 'author'),
    'time',
  );
  return time === undefined ? undefined : attributeValue(time, 'value');
}

/**
 * Verifies a signed HL7 v3 prescription.
 *
 * @example
 * ```ts
 * const report = await verifyPrescription(ctx, readFileSync('rx.xml'));
 * ```
 */
export async function verifyPrescription(
  ctx: TrustContext,
  bytes: Uint8Array,
  at?: Date,
): Promise<VerificationReport> {
  if (bytes.byteLength > ctx.maxBytes) {
    return formatFailure(HL7_FORMAT, OWN_MESSAGES.tooLarge);
  }
  const rx = readPrescription(bytes, ctx.maxBytes);
  if (rx?.signature === undefined) {
    return formatFailure(HL7_FORMAT);
  }
  return verifyXmlSignature(ctx, {
    format: HL7_FORMAT,
    doc: rx.doc,
    signature: rx.signature,
    fragments: rx.fragments,
    signingTime: rx.signingTime,
    ...(at === undefined ? {} : { at }),
  });
}
