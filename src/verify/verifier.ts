/**
 * The Verifier: created once with the trust store, it caches parsed trust data, CRL downloads and path
 * results, and recognises documents by content. Rules of `verifyDocument`'s detection (after a UTF-8 BOM and
 * leading whitespace):
 * - `<` → HL7 v3 XML; `{` → FHIR JSON; `-----BEGIN` or a DER SEQUENCE (0x30) → CMS; anything else (binary,
 *   empty) → TOTAL_FAILED / FORMAT_FAILURE. Nothing is ever thrown for bad input.
 */
import { type VerificationReport, verifyCms } from '../cms/index.js';
import { createTrustContext, type TrustContext } from './context.js';
import { verifyFhirSignature } from './fhir.js';
import { OWN_MESSAGES } from './messages.js';
import type { VerifierOptions, VerifyCallOptions } from './options.js';
import { verifyPrescription } from './prescription.js';
import { formatFailure } from './xml-signature.js';

export type DocumentKind = 'hl7v3' | 'fhir' | 'cms' | 'unknown';

/**
 * What a document is, by its first bytes.
 *
 * @example
 * ```ts
 * detectKind(Buffer.from('<PORX_IN020101SM31 …')); // 'hl7v3'
 * ```
 */
export function detectKind(bytes: Uint8Array): DocumentKind {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (
    i < bytes.length &&
    i < 4096 &&
    (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)
  ) {
    i++;
  }
  const b = bytes[i];
  if (b === 0x3c) {
    return 'hl7v3';
  }
  if (b === 0x7b) {
    return 'fhir';
  }
  if (b === 0x30 && i === 0) {
    return 'cms';
  }
  return Buffer.from(bytes.subarray(i, i + 10)).toString('latin1') === '-----BEGIN'
    ? 'cms'
    : 'unknown';
}

const stripBom = (b: Uint8Array): Uint8Array =>
  b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;

/**
 * A verifier bound to one trust store; reuse it (its caches make repeated verification cheap).
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ anchors: [root], intermediates: [signCa], crls });
 * const report = await verifier.verifyDocument(bytes);
 * ```
 */
export class Verifier {
  readonly #ctx: TrustContext;

  constructor(options: VerifierOptions = {}) {
    this.#ctx = createTrustContext(options);
  }

  /** HL7 v3 ParentPrescription (or a message holding one). */
  verifyPrescription(bytes: Uint8Array, o: VerifyCallOptions = {}): Promise<VerificationReport> {
    return verifyPrescription(this.#ctx, stripBom(bytes), o.at);
  }

  /** FHIR Bundle / Provenance / Signature; `o.detachedContent` = the HL7 v3 prescription it signs. */
  verifyFhir(bytes: Uint8Array, o: VerifyCallOptions = {}): Promise<VerificationReport> {
    return verifyFhirSignature(
      this.#ctx,
      stripBom(bytes),
      o.detachedContent === undefined ? undefined : stripBom(o.detachedContent),
      o.at,
    );
  }

  /** CMS SignedData, attached or with `o.detachedContent` (src/cms verifyCms with this trust store). */
  verifyCms(bytes: Uint8Array, o: VerifyCallOptions = {}): Promise<VerificationReport> {
    const c = this.#ctx;
    return verifyCms(bytes, {
      anchors: c.anchors,
      intermediates: c.intermediates,
      crls: c.crls,
      revocation: c.revocation,
      allowSha1: c.allowSha1,
      minRsaBits: c.minRsaBits,
      now: c.now,
      ...(c.fetchCrl === undefined ? {} : { fetchCrl: c.fetchCrl }),
      ...(o.at === undefined ? {} : { at: o.at }),
      ...(o.detachedContent === undefined ? {} : { detachedContent: o.detachedContent }),
    });
  }

  /** Recognises the document by content and verifies it. */
  async verifyDocument(bytes: Uint8Array, o: VerifyCallOptions = {}): Promise<VerificationReport> {
    if (!(bytes instanceof Uint8Array)) {
      return formatFailure('unknown', OWN_MESSAGES.unknownFormat);
    }
    switch (detectKind(bytes)) {
      case 'hl7v3':
        return this.verifyPrescription(bytes, o);
      case 'fhir':
        return this.verifyFhir(bytes, o);
      case 'cms':
        return this.verifyCms(bytes, o);
      default:
        return formatFailure('unknown', OWN_MESSAGES.unknownFormat);
    }
  }
}

/**
 * @example
 * ```ts
 * const verifier = createVerifier({ anchors, intermediates, crls, revocation: 'require' });
 * ```
 */
export function createVerifier(options: VerifierOptions = {}): Verifier {
  return new Verifier(options);
}

/**
 * One-off verification (creates a Verifier; for many documents create one with {@link createVerifier}).
 *
 * @example
 * ```ts
 * const report = await verifyDocument(readFileSync('rx.xml'), { anchors: [root], intermediates: [signCa], crls });
 * ```
 */
export function verifyDocument(
  bytes: Uint8Array,
  options: VerifierOptions & VerifyCallOptions = {},
): Promise<VerificationReport> {
  return new Verifier(options).verifyDocument(bytes, options);
}
