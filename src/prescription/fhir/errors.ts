/**
 * The error codes of src/prescription/fhir (FHIR R4 prescription-order Bundles → EPS signature fragments).
 *
 * Rules:
 * - messages are fixed strings; the FHIR element at fault travels in `detail.issues` as
 *   `{ path, message }` (a FHIR path such as `MedicationRequest[1].dispenseRequest.quantity.value`, and a
 *   fixed reason), which the HTTP layer returns and the CLI prints; never a value from the document;
 * - a Bundle is refused rather than guessed whenever a part that is signed cannot be built exactly as EPS
 *   builds it (docs/protocol/eps-signing.md §1.2, §3.1).
 */
import { fromTable, type ErrorTable, type ServiceError } from '../../errors.js';

export type FhirErrorCode =
  | 'ERR_FHIR_JSON_INVALID'
  | 'ERR_FHIR_NOT_PRESCRIPTION_ORDER'
  | 'ERR_FHIR_ELEMENT_MISSING'
  | 'ERR_FHIR_ELEMENT_INVALID'
  | 'ERR_FHIR_ELEMENT_UNSUPPORTED';

export const FHIR_ERRORS: ErrorTable<FhirErrorCode> = {
  ERR_FHIR_JSON_INVALID: {
    status: 400,
    message: 'the FHIR document is not valid JSON',
    fix: 'Send one strict JSON document (UTF-8, no duplicate keys, no trailing content); `issues` gives the offset.',
  },
  ERR_FHIR_NOT_PRESCRIPTION_ORDER: {
    status: 400,
    message: 'the FHIR document is not a prescription-order message Bundle',
    fix: 'Send a Bundle of type message whose MessageHeader.eventCoding.code is prescription-order.',
  },
  ERR_FHIR_ELEMENT_MISSING: {
    status: 400,
    message: 'the prescription Bundle lacks an element that is signed',
    fix: 'Add the element named in `issues` (the FHIR path) as the EPS prescribing API requires it.',
  },
  ERR_FHIR_ELEMENT_INVALID: {
    status: 400,
    message: 'an element of the prescription Bundle has a value that cannot be signed',
    fix: 'Correct the element named in `issues` (the FHIR path); its reason says what is expected.',
  },
  ERR_FHIR_ELEMENT_UNSUPPORTED: {
    status: 400,
    message: 'the prescription Bundle holds an element rxsign cannot translate exactly',
    fix: 'Remove the element named in `issues`, or use EPS $prepare for this prescription; rxsign refuses rather than guesses what is signed.',
  },
};

/**
 * Builds a FHIR error; `element` is the FHIR path at fault and `reason` a fixed explanation.
 *
 * @example
 * ```ts
 * throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: 'Patient.birthDate' });
 * ```
 */
export function fhirError(
  code: FhirErrorCode,
  options: { cause?: unknown; element?: string; reason?: string } = {},
): ServiceError<FhirErrorCode> {
  const path = options.element ?? '(document)';
  const message = options.reason ?? FHIR_ERRORS[code].message;
  return fromTable(FHIR_ERRORS, code, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    detail: { element: path, issues: [{ path, message }] },
  });
}
