/**
 * FHIR R4 prescription-order Bundles: the EPS signature computed locally (`$prepare`), what the prescriber
 * is about to sign, and the Provenance EPS expects. See docs/prescription.md.
 */
export { readBundle, type FhirBundle } from './bundle.js';
export { FHIR_ERRORS, fhirError, type FhirErrorCode } from './errors.js';
export {
  JsonNumber,
  parseJsonLossless,
  stringifyJsonLossless,
  type JsonObject,
  type JsonValue,
} from './json.js';
export {
  fragmentsFromBundle,
  hl7ToIso,
  prepareBundle,
  prepareParameters,
  type PrepareParameters,
  type PrepareResult,
} from './prepare.js';
export { translateBundle, type SignedParts } from './translate.js';
export { describePrescription, type PrescriptionSummary } from './describe.js';
