// src/prescription/fhir: strict lossless JSON, refusals that name the FHIR element, the summary, rxsign prepare.
// Runs without the EPS vectors (own Bundle under fixtures/).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

import { runPrepare } from '../../../src/cli/prepare.js';
import {
  describePrescription,
  parseJsonLossless,
  prepareBundle,
  prepareParameters,
  stringifyJsonLossless,
} from '../../../src/prescription/fhir/index.js';

const FIXTURE = resolve(import.meta.dirname, 'fixtures', 'prescription-order.json');
const text = readFileSync(FIXTURE, 'utf8');
const TS = '2026-01-02T03:04:05+00:00';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const edited = (edit: (b: Json) => void): string => {
  const b = JSON.parse(text) as Json;
  edit(b);
  return JSON.stringify(b);
};
const res = (b: Json, type: string, n = 0): Json =>
  (b.entry as Json[]).filter((e) => e.resource.resourceType === type)[n]?.resource as Json;

describe('lossless JSON', () => {
  test('numbers keep their text; the round trip is exact', () => {
    const s = '{"a":1.50,"b":[1e3,-0,2],"c":"xé\\"q"}';
    expect(stringifyJsonLossless(parseJsonLossless(s))).toBe(s);
    expect(stringifyJsonLossless(parseJsonLossless('"\\u00e9"'))).toBe('"é"');
  });
  test.each([
    ['duplicate key', '{"a":1,"a":2}'],
    ['trailing content', '{} x'],
    ['lone surrogate', '"\\ud800"'],
    ['bad number', '{"a":01}'],
    ['control character in a string', '"a\u0001"'],
    ['too deep', '['.repeat(100) + ']'.repeat(100)],
  ])('%s → ERR_FHIR_JSON_INVALID', (_n, s) => {
    expect(() => parseJsonLossless(s)).toThrow(
      expect.objectContaining({ code: 'ERR_FHIR_JSON_INVALID' }),
    );
  });
});

describe('a Bundle the translation does not understand is refused, naming the element', () => {
  test.each<[string, (b: Json) => void, string, string]>([
    [
      'not a prescription-order',
      (b) => (res(b, 'MessageHeader').eventCoding.code = 'prescription-order-update'),
      'ERR_FHIR_NOT_PRESCRIPTION_ORDER',
      'MessageHeader.eventCoding.code',
    ],
    [
      'unknown MedicationRequest extension',
      (b) => res(b, 'MedicationRequest', 1).extension.push({ url: 'https://example.org/x' }),
      'ERR_FHIR_ELEMENT_UNSUPPORTED',
      'MedicationRequest[1].extension[1].url',
    ],
    [
      'no Patient',
      (b) => (b.entry = (b.entry as Json[]).filter((e) => e.resource.resourceType !== 'Patient')),
      'ERR_FHIR_ELEMENT_MISSING',
      'Patient',
    ],
    [
      'requester points nowhere',
      (b) => (res(b, 'MedicationRequest').requester.reference = 'urn:uuid:nowhere'),
      'ERR_FHIR_ELEMENT_MISSING',
      'MedicationRequest[0].requester.reference',
    ],
    [
      'two professional codes',
      (b) =>
        res(b, 'Practitioner').identifier.push({
          system: 'https://fhir.hl7.org.uk/Id/nmc-number',
          value: '12A3456B',
        }),
      'ERR_FHIR_ELEMENT_INVALID',
      'Practitioner[0].identifier',
    ],
    [
      'unknown gender',
      (b) => (res(b, 'Patient').gender = 'robot'),
      'ERR_FHIR_ELEMENT_INVALID',
      'Patient[0].gender',
    ],
    [
      'partial birth date',
      (b) => (res(b, 'Patient').birthDate = '1980-02'),
      'ERR_FHIR_ELEMENT_INVALID',
      'Patient[0].birthDate',
    ],
    [
      'quantity not a number',
      (b) => (res(b, 'MedicationRequest').dispenseRequest.quantity.value = 'three'),
      'ERR_FHIR_ELEMENT_INVALID',
      'MedicationRequest[0].dispenseRequest.quantity.value',
    ],
    [
      'dosage without text',
      (b) => delete res(b, 'MedicationRequest').dosageInstruction[0].text,
      'ERR_FHIR_ELEMENT_MISSING',
      'MedicationRequest[0].dosageInstruction[0].text',
    ],
    [
      'mixed courses of therapy',
      (b) =>
        (res(b, 'MedicationRequest', 1).courseOfTherapyType.coding[0].code =
          'continuous-repeat-dispensing'),
      'ERR_FHIR_ELEMENT_INVALID',
      'MedicationRequest.courseOfTherapyType.coding',
    ],
    [
      'a CR in a signed string',
      (b) => (res(b, 'Organization').name = 'A\rB'),
      'ERR_FHIR_ELEMENT_INVALID',
      'Organization[0].name',
    ],
    // Not carried by the HL7 v3 translation, yet changing what is dispensed (before: signed and verified as if
    // absent).
    [
      'a modifierExtension on a MedicationRequest',
      (b) =>
        (res(b, 'MedicationRequest').modifierExtension = [
          { url: 'https://example.org/not-really', valueBoolean: true },
        ]),
      'ERR_FHIR_ELEMENT_UNSUPPORTED',
      'Bundle.entry[1].resource.modifierExtension',
    ],
    [
      'a modifierExtension deep in a dosage',
      (b) =>
        (res(b, 'MedicationRequest', 1).dosageInstruction[0].modifierExtension = [
          { url: 'https://example.org/x', valueBoolean: true },
        ]),
      'ERR_FHIR_ELEMENT_UNSUPPORTED',
      'Bundle.entry[2].resource.dosageInstruction[0].modifierExtension',
    ],
    [
      'doNotPerform',
      (b) => (res(b, 'MedicationRequest').doNotPerform = true),
      'ERR_FHIR_ELEMENT_UNSUPPORTED',
      'MedicationRequest[0].doNotPerform',
    ],
    [
      'a medicationReference beside the medicationCodeableConcept',
      (b) => (res(b, 'MedicationRequest').medicationReference = { reference: 'urn:uuid:morphine' }),
      'ERR_FHIR_ELEMENT_UNSUPPORTED',
      'MedicationRequest[0].medicationReference',
    ],
    [
      'a subject that is not the Patient',
      (b) =>
        (res(b, 'MedicationRequest').subject.reference = String(
          (b.entry as Json[]).find((e) => e.resource.resourceType === 'Practitioner')?.fullUrl,
        )),
      'ERR_FHIR_ELEMENT_INVALID',
      'MedicationRequest[0].subject.reference',
    ],
  ])('%s → %s at %s', (_n, edit, code, path) => {
    let err: unknown;
    try {
      prepareBundle(edited(edit), { timestamp: TS });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code, detail: { element: path } });
  });

  test('continuous: every item hashes repeatNumber/high = 1; eRD: numberOfRepeatsAllowed + 1', () => {
    const continuous = prepareBundle(
      edited((b) => {
        for (const mr of (b.entry as Json[]).filter(
          (e) => e.resource.resourceType === 'MedicationRequest',
        )) {
          mr.resource.courseOfTherapyType.coding[0].code = 'continuous';
        }
      }),
      { timestamp: TS },
    );
    expect(
      Buffer.from(continuous.fragments)
        .toString()
        .match(/<repeatNumber><high value="1"><\/high><\/repeatNumber>/g),
    ).toHaveLength(2);
    const erd = () =>
      prepareBundle(
        edited((b) => {
          for (const mr of (b.entry as Json[]).filter(
            (e) => e.resource.resourceType === 'MedicationRequest',
          )) {
            mr.resource.courseOfTherapyType.coding[0].code = 'continuous-repeat-dispensing';
          }
          res(b, 'MedicationRequest').dispenseRequest.numberOfRepeatsAllowed = 5;
        }),
        { timestamp: TS },
      );
    expect(Buffer.from(erd().fragments).toString()).toContain(
      '<repeatNumber><high value="6"></high></repeatNumber>',
    );
  });
});

describe('prepare', () => {
  test('time and text escaping: the timestamp is hashed as UTC, & and < in text are escaped by C14N', () => {
    const a = prepareBundle(text, { timestamp: '2026-01-02T04:04:05+01:00' });
    const b = prepareBundle(text, { timestamp: TS });
    expect(a.digest).toBe(b.digest);
    expect(a.timestamp).toBe(TS);
    const fragments = Buffer.from(b.fragments).toString();
    expect(fragments).toContain('<time xmlns="urn:hl7-org:v3" value="20260102030405"></time>');
    expect(fragments).toContain('four times a day &amp; as required');
    // The additional-instructions value is itself XML text in EPS (xml-js escapes it once, C14N again).
    expect(fragments).toContain('<value>Patient &amp;lt;prefers&amp;gt; blister packs</value>');
    expect(fragments).toContain('<quantity unit="1" value="32.0">');
    expect(prepareParameters(b).parameter.map((p) => p.name)).toEqual([
      'digest',
      'timestamp',
      'algorithm',
    ]);
    expect(prepareBundle(text, { timestamp: TS, algorithm: 'RS1' }).signedInfo.toString()).not.toBe(
      b.signedInfo.toString(),
    );
  });

  test('describePrescription names the signed SNOMED CT medication, not a first coding of another system', () => {
    // Before: the first coding's display was shown, so "Paracetamol" could be approved while Morphine was signed.
    const signedName = describePrescription(text).items[0]?.name;
    const decoy = edited((b) =>
      res(b, 'MedicationRequest').medicationCodeableConcept.coding.unshift({
        system: 'https://example.org/not-snomed',
        code: 'X',
        display: 'Paracetamol 500mg tablets',
      }),
    );
    expect(signedName).not.toBe('');
    expect(describePrescription(decoy).items[0]?.name).toBe(signedName);
  });

  test('describePrescription: id, patient and items as signed', () => {
    expect(describePrescription(text)).toMatchObject({
      prescriptionId: 'A7B86F-X26AB1-11C3BZ',
      patient: { name: 'MX ALEX SAM EXAMPLE', nhsNumber: '9990000018' },
      items: [{ quantity: '3 capsule' }, { quantity: '32.0 tablet' }],
    });
  });

  test('rxsign prepare: text, --json Parameters, errors naming the element, usage errors', async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runPrepare(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const plain = await run([FIXTURE, '--timestamp', TS]);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain(`digest: ${prepareBundle(text, { timestamp: TS }).digest}`);
    const asJson = await run([FIXTURE, '--timestamp', TS, '--algorithm', 'RS1', '--json']);
    expect(JSON.parse(asJson.out)).toEqual(
      prepareParameters(prepareBundle(text, { timestamp: TS, algorithm: 'RS1' })),
    );
    expect((await run(['--help'])).out).toContain('Usage: rxsign prepare');
    for (const argv of [
      [FIXTURE],
      [FIXTURE, '--timestamp', TS, '--algorithm', 'RS512'],
      ['/nonexistent', '--timestamp', TS],
      [],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
    }
    const badTime = await run([FIXTURE, '--timestamp', 'yesterday']);
    expect(badTime.err).toContain('ERR_PRESCRIPTION_TIMESTAMP_INVALID');
  });
});
