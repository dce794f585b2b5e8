/**
 * What the prescriber is about to sign, in words ("what you see is what you sign", issue 13 §2): the
 * prescription id, the patient and each item, read from the same Bundle the digest is computed from. Rules:
 * - pure: no I/O; the values are the Bundle's own (the same elements translate.ts signs);
 * - `prescriptionId` is the short-form id (groupIdentifier.value) prescribers and pharmacists see, `uuid` the
 *   signed id (Extension-DM-PrescriptionId);
 * - a Bundle the translation refuses is refused here too (the same errors, naming the FHIR element).
 */
import {
  objectsAt,
  readBundle,
  requireObject,
  resourcesOf,
  stringAt,
  numberTextAt,
  type At,
  type FhirBundle,
} from './bundle.js';
import type { JsonObject } from './json.js';
import { medicationCoding, prescriptionId, translateBundle } from './translate.js';

/** The summary shown in the approval prompt and returned by the signing answer. */
export interface PrescriptionSummary {
  readonly prescriptionId: string;
  readonly uuid: string;
  readonly patient: { readonly name: string; readonly nhsNumber: string };
  readonly items: readonly {
    readonly name: string;
    readonly quantity: string;
    readonly dosage: string;
  }[];
}

const words = (parts: readonly (string | undefined)[]): string =>
  parts.filter((p) => p !== undefined && p !== '').join(' ');

function nameOf(patient: At<JsonObject>): string {
  const name = objectsAt(patient, 'name')[0];
  if (name === undefined) {
    return '';
  }
  const list = (key: string): string[] =>
    Array.isArray(name.value[key])
      ? (name.value[key] as unknown[]).filter((v): v is string => typeof v === 'string')
      : [];
  const structured = words([
    ...list('prefix'),
    ...list('given'),
    stringAt(name, 'family'),
    ...list('suffix'),
  ]);
  return structured === '' ? (stringAt(name, 'text') ?? '') : structured;
}

/**
 * Summarises a prescription-order Bundle for the prescriber.
 *
 * @example
 * ```ts
 * describePrescription(bundleJson);
 * // { prescriptionId: 'BC2927-A99968-478E9A', uuid: '1b14…', patient: { name: 'MRS JANE DAVIS', nhsNumber: '9449305552' },
 * //   items: [{ name: 'Chlordiazepoxide 5mg capsules', quantity: '3 Capsule', dosage: 'Follow directions' }, …] }
 * ```
 */
export function describePrescription(
  input: string | Uint8Array | object | FhirBundle,
): PrescriptionSummary {
  const bundle =
    typeof input === 'object' && input !== null && 'byFullUrl' in input
      ? (input as FhirBundle)
      : readBundle(input as string | Uint8Array | object);
  const parts = translateBundle(bundle); // refuses exactly what the digest refuses
  const requests = resourcesOf(bundle, 'MedicationRequest');
  const first = requests[0] as At<JsonObject>;
  const patient = resourcesOf(bundle, 'Patient')[0] as At<JsonObject>;
  const nhsNumber = objectsAt(patient, 'identifier').find(
    (i) => i.value.system === 'https://fhir.nhs.uk/Id/nhs-number',
  )?.value.value;
  const dosages = parts.lineItems.map((li) => {
    const pi2 = li.children.find((c) => c.type === 1 && c.localName === 'pertinentInformation2');
    const di =
      pi2?.type === 1
        ? pi2.children.find((c) => c.type === 1 && c.localName === 'pertinentDosageInstructions')
        : undefined;
    const value =
      di?.type === 1 ? di.children.find((c) => c.type === 1 && c.localName === 'value') : undefined;
    const text = value?.type === 1 ? value.children[0] : undefined;
    return text !== undefined && text.type !== 1 && text.type !== 8 ? text.value : '';
  });
  return {
    prescriptionId: stringAt(requireObject(first, 'groupIdentifier'), 'value') ?? '',
    uuid: prescriptionId(first),
    patient: { name: nameOf(patient), nhsNumber: typeof nhsNumber === 'string' ? nhsNumber : '' },
    items: requests.map((mr, i) => {
      // The name shown is the signed one: the SNOMED CT coding's display that the translation puts in the
      // line item (never a first coding of another system, nor the free text, which are not signed).
      const coding = medicationCoding(bundle, mr);
      const quantity = requireObject(requireObject(mr, 'dispenseRequest'), 'quantity');
      return {
        name: stringAt(coding, 'display') ?? '',
        quantity: words([numberTextAt(quantity, 'value'), stringAt(quantity, 'unit')]),
        dosage: dosages[i] ?? '',
      };
    }),
  };
}
