/**
 * Verification of a FHIR signature (docs/protocol/eps-signing.md §1.7): a Bundle ($process-message), a Provenance or a
 * bare Signature datatype. Rules:
 * - JSON ≤ `maxBytes`, strict JSON (numbers kept as written, no duplicate keys) → FORMAT_FAILURE;
 * - Bundle: the Provenance signatures whose `who.reference` is the first MedicationRequest's
 *   `requester.reference` (all signatures when there is no MedicationRequest); exactly one → else FORMAT_FAILURE;
 * - `data` is strict base64 of one UTF-8 XML-DSig `Signature` (safe parse, ≤ 1 MiB) → "Invalid signature format";
 * - `when` is the signing time (ISO 8601 with an offset);
 * - the digest is checked over the prescription's own content, with `author/time := when` (as EPS translates):
 *   a prescription-order Bundle is translated to its fragments here (src/prescription/fhir), exactly as EPS
 *   does; the HL7 v3 prescription supplied as `detachedContent` is used only for a Provenance or Signature
 *   given without its Bundle (with the Bundle, the Bundle's own content is what is checked);
 * - a Bundle is unwrapped only when it holds one Bundle and nothing else ($verify-signature's shape): a
 *   signed Bundle inside another one never vouches for the outer one's content (signature wrapping);
 * - where the content cannot be rebuilt (a Provenance or Signature on its own, a Bundle the translation
 *   refuses, no usable `when`) the digest check is INDETERMINATE / SIGNED_DATA_NOT_FOUND: never PASSED.
 */
import type { VerificationReport } from '../cms/index.js';
import { fragmentsFromBundle, parseJsonLossless, readBundle } from '../prescription/fhir/index.js';
import {
  XMLDSIG_NAMESPACE,
  isoToHl7Timestamp,
  parseXml,
  type XmlDocument,
} from '../prescription/index.js';
import type { TrustContext } from './context.js';
import { OWN_MESSAGES } from './messages.js';
import { isBase64 } from './signature-format.js';
import { readPrescription } from './prescription.js';
import { isoTime } from './signing-time.js';
import { formatFailure, verifyXmlSignature } from './xml-signature.js';

export const FHIR_FORMAT = 'FHIR-XMLDSig';
const MAX_SIGNATURE_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const refOf = (v: unknown): string | undefined =>
  isObject(v) && typeof v.reference === 'string' ? v.reference : undefined;

/** The one signature EPS would verify in a FHIR resource; undefined when there is not exactly one. */
export function findFhirSignature(root: unknown, nested = false): Json | undefined {
  return locateFhirSignature(root, nested)?.signature;
}

/** The one signature EPS would verify, and the prescription Bundle it sits in (when it does). */
function locateFhirSignature(
  root: unknown,
  nested = false,
): { signature: Json; bundle: Json | undefined } | undefined {
  if (!isObject(root)) {
    return undefined;
  }
  let candidates: unknown[];
  if (root.resourceType === 'Bundle') {
    const resources = list(root.entry)
      .map((e) => (isObject(e) ? e.resource : undefined))
      .filter(isObject);
    const inner = resources.filter((r) => r.resourceType === 'Bundle');
    if (!nested && inner.length === 1 && resources.length === 1) {
      // $verify-signature shape: a Bundle holding one prescription Bundle and nothing else. A Bundle with
      // prescription content of its own is never unwrapped: its own content is what a receiver processes,
      // and a signed Bundle tucked inside it must not vouch for it (signature wrapping).
      return locateFhirSignature(inner[0], true);
    }
    const requester = refOf(
      resources.find((r) => r.resourceType === 'MedicationRequest')?.requester,
    );
    candidates = resources
      .filter((r) => r.resourceType === 'Provenance')
      .flatMap((p) => list(p.signature))
      .filter((s) => requester === undefined || (isObject(s) && refOf(s.who) === requester));
  } else if (root.resourceType === 'Provenance') {
    candidates = list(root.signature);
  } else if (root.resourceType === undefined && 'data' in root) {
    candidates = [root];
  } else {
    return undefined;
  }
  const [only, ...rest] = candidates;
  return rest.length === 0 && isObject(only)
    ? { signature: only, bundle: root.resourceType === 'Bundle' ? root : undefined }
    : undefined;
}

/**
 * Verifies a FHIR signature; `prescription` is the HL7 v3 ParentPrescription it signs, when available.
 *
 * @example
 * ```ts
 * const report = await verifyFhirSignature(ctx, bundleBytes, hl7Bytes);
 * ```
 */
export async function verifyFhirSignature(
  ctx: TrustContext,
  bytes: Uint8Array,
  prescription?: Uint8Array,
  at?: Date,
): Promise<VerificationReport> {
  if (bytes.byteLength > ctx.maxBytes) {
    return formatFailure(FHIR_FORMAT, OWN_MESSAGES.tooLarge);
  }
  let root: unknown;
  try {
    root = parseJsonLossless(bytes);
  } catch {
    return formatFailure(FHIR_FORMAT);
  }
  const found = locateFhirSignature(root);
  const sig = found?.signature;
  const data = typeof sig?.data === 'string' ? sig.data.replace(/[ \t\r\n]+/g, '') : undefined;
  if (
    sig === undefined ||
    data === undefined ||
    data === '' ||
    !isBase64(data) ||
    data.length > (MAX_SIGNATURE_BYTES * 4) / 3
  ) {
    return formatFailure(FHIR_FORMAT);
  }
  let doc: XmlDocument;
  try {
    doc = parseXml(Buffer.from(data, 'base64'), { maxBytes: MAX_SIGNATURE_BYTES, maxDepth: 32 });
  } catch {
    return formatFailure(FHIR_FORMAT);
  }
  const signature = doc.root;
  if (signature.localName !== 'Signature' || signature.namespace !== XMLDSIG_NAMESPACE) {
    return formatFailure(FHIR_FORMAT);
  }
  const when = typeof sig.when === 'string' ? sig.when : undefined;
  const signingTime = when === undefined ? undefined : isoTime(when);
  let authorTime: string | undefined;
  try {
    authorTime = when === undefined ? undefined : isoToHl7Timestamp(when);
  } catch {
    authorTime = undefined;
  }
  let fragments: Uint8Array | undefined;
  let unavailable: string | undefined;
  // With its Bundle, the signature is checked against the Bundle's own content, always: a caller's HL7 v3
  // prescription (`prescription`) stands in only for a Provenance or signature given without its Bundle.
  // Otherwise a changed Bundle would pass on the strength of an unchanged HL7 document beside it.
  if (prescription !== undefined && found?.bundle === undefined) {
    const rx = readPrescription(prescription, ctx.maxBytes, authorTime);
    if (rx === undefined) {
      return formatFailure(FHIR_FORMAT);
    }
    fragments = rx.fragments;
  } else if (found?.bundle !== undefined) {
    try {
      if (authorTime === undefined) {
        throw new Error('no signing time');
      }
      fragments = fragmentsFromBundle(readBundle(found.bundle), authorTime);
    } catch {
      unavailable = OWN_MESSAGES.contentNotRebuilt;
    }
  }
  return verifyXmlSignature(ctx, {
    format: FHIR_FORMAT,
    doc,
    signature,
    fragments,
    ...(unavailable === undefined ? {} : { fragmentsUnavailable: unavailable }),
    signingTime,
    ...(at === undefined ? {} : { at }),
  });
}
