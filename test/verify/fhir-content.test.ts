// Pharmacist-safe FHIR verification (issue 13 §3, docs/verify.md): a FHIR prescription is checked against its
// own content. Runs without the EPS vectors: our own Bundle (test/prescription/fhir/fixtures), signed here under the
// test PKI (node:crypto in place of the card), its Provenance built as EPS expects (docs/protocol/eps-signing.md §3.3).
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';

import { parseCrl, type CrlInfo } from '../../src/cms/index.js';
import { prepareBundle } from '../../src/prescription/fhir/index.js';
import { provenanceEntry, xmlDsigSignature } from '../../src/signing/index.js';
import {
  createVerifier,
  type VerificationReport,
  type VerifierOptions,
} from '../../src/verify/index.js';
import { TempCa, pki, root, signCa, type Issued } from '../cms/fixtures.js';

const FIXTURE = resolve(
  import.meta.dirname,
  '..',
  'prescription',
  'fhir',
  'fixtures',
  'prescription-order.json',
);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let ca: TempCa;
let good: Issued;
let crls: CrlInfo[];

beforeAll(() => {
  ca = new TempCa('sign-ca');
  good = ca.issue('555000000201_Good_Prescriber');
  crls = [parseCrl(ca.crl()), parseCrl(readFileSync(`${pki.crlDir}/root.arl`))];
});

const fixture = (): Json => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Json;
/** JSON text of a Bundle with the fixture's `32.0` written as in the fixture (JSON.parse kept only 32). */
const text = (b: Json): string => JSON.stringify(b).replace('"value":32,', '"value":32.0,');
const nowIso = (): string => new Date().toISOString().replace(/\.\d+Z$/, '+00:00');

/** The Bundle prepared at `timestamp`, signed RS256 by `u`, with its Provenance: what $process-message gets. */
function signedBundle(bundle: Json = fixture(), u: Issued = good, timestamp = nowIso()): Json {
  const prepared = prepareBundle(text(bundle), { timestamp });
  const value = sign('sha256', prepared.signedInfo, u.keyPem).toString('base64');
  const xml = xmlDsigSignature(
    prepared.signedInfo,
    value,
    Buffer.from(u.certDer).toString('base64'),
  );
  const out = structuredClone(bundle);
  (out.entry as Json[]).push(
    provenanceEntry({ bundle: out, signatureXml: xml, timestamp: prepared.timestamp }),
  );
  return out;
}

const opts = (): VerifierOptions => ({
  anchors: [root()],
  intermediates: [signCa()],
  crls,
  fetchCrl: false,
});
const run = (doc: Json | string, o: VerifierOptions = opts()): Promise<VerificationReport> =>
  createVerifier(o).verifyDocument(Buffer.from(typeof doc === 'string' ? doc : text(doc), 'utf8'));
const digestCheck = (r: VerificationReport) => r.checks.find((c) => c.id === 'eps.digest');
const resource = (b: Json, type: string, n = 0): Json =>
  (b.entry as Json[]).filter((e) => e.resource.resourceType === type)[n]?.resource as Json;

describe('FHIR prescriptions verified against their own content (own fixture, test PKI)', () => {
  test('an untouched signed Bundle → TOTAL_PASSED, the digest checked over the Bundle, signer named by the CN', async () => {
    const r = await run(signedBundle());
    expect(r.checks.filter((c) => c.status !== 'passed' && c.status !== 'skipped')).toEqual([]);
    expect(digestCheck(r)?.status).toBe('passed');
    expect(r).toMatchObject({
      indication: 'TOTAL_PASSED',
      format: 'FHIR-XMLDSig',
      signer: { name: '555000000201_Good_Prescriber', uid: '555000000201' },
    });
  });

  test('the issue\'s case: quantity 3 → 999 with the Provenance left alone → TOTAL_FAILED, "Signature doesn\'t match prescription"', async () => {
    const b = signedBundle();
    resource(b, 'MedicationRequest').dispenseRequest.quantity.value = 999;
    const r = await run(b);
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
    expect(digestCheck(r)).toMatchObject({
      status: 'failed',
      message: "Signature doesn't match prescription",
    });
  });

  // One tampering per fragment part: time + id, author, patient, each item.
  const tamper: [string, (b: Json) => void][] = [
    [
      'prescription id',
      (b) => {
        for (const mr of (b.entry as Json[]).filter(
          (e) => e.resource.resourceType === 'MedicationRequest',
        )) {
          mr.resource.groupIdentifier.extension[0].valueIdentifier.value =
            'b1c2d3e4-0000-4000-8000-0000000000bb';
        }
      },
    ],
    [
      'signing time (Provenance.signature.when one second later)',
      (b) => {
        const sig = resource(b, 'Provenance').signature[0] as Json;
        sig.when = new Date(Date.parse(sig.when as string) + 1000)
          .toISOString()
          .replace(/\.\d+Z$/, '+00:00');
      },
    ],
    [
      'author (Practitioner family name)',
      (b) => (resource(b, 'Practitioner').name[0].family = 'OTHER'),
    ],
    [
      'author (organisation telecom)',
      (b) => (resource(b, 'Organization').telecom[0].value = '0113 999'),
    ],
    [
      'author (job role code)',
      (b) => (resource(b, 'PractitionerRole').code[0].coding[0].code = 'R8003'),
    ],
    ['patient (NHS number)', (b) => (resource(b, 'Patient').identifier[0].value = '9990000026')],
    ['patient (birth date)', (b) => (resource(b, 'Patient').birthDate = '1980-03-01')],
    [
      'patient (GP practice)',
      (b) => (resource(b, 'Patient').generalPractitioner[0].identifier.value = 'Y00001'),
    ],
    [
      'item 1 (medication)',
      (b) => (resource(b, 'MedicationRequest', 0).medicationCodeableConcept.coding[0].code = '1'),
    ],
    [
      'item 1 (dosage)',
      (b) => (resource(b, 'MedicationRequest', 0).dosageInstruction[0].text = 'Ten capsules'),
    ],
    [
      'item 2 (quantity 32.0 → 32: the number as written is signed)',
      (b) => (resource(b, 'MedicationRequest', 1).dispenseRequest.quantity.value = 32),
    ],
    [
      'item 2 (note)',
      (b) => (resource(b, 'MedicationRequest', 1).note[0].text = 'Patient prefers bottles'),
    ],
    [
      'items swapped',
      (b) => {
        const entries = b.entry as Json[];
        [entries[1], entries[2]] = [entries[2] as Json, entries[1] as Json];
      },
    ],
  ];
  test.each(tamper)(
    "%s changed after signing → TOTAL_FAILED / HASH_FAILURE with EPS's message",
    async (_n, edit) => {
      const b = signedBundle();
      edit(b);
      // Number text matters: serialise with the fixture's own 32.0 kept unless the edit replaced it.
      const text = JSON.stringify(b).replace('"value":32,', '"value":32.0,');
      const r = await run(_n.startsWith('item 2 (quantity') ? JSON.stringify(b) : text);
      expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
      expect(digestCheck(r)?.message).toBe("Signature doesn't match prescription");
      expect(r.checks.find((c) => c.id === 'eps.signature')?.status).toBe('passed');
    },
  );

  test('content that cannot be rebuilt (an unknown MedicationRequest extension) → INDETERMINATE / SIGNED_DATA_NOT_FOUND, never PASSED', async () => {
    const b = signedBundle();
    (resource(b, 'MedicationRequest').extension as Json[]).push({
      url: 'https://example.org/unknown-extension',
      valueString: 'x',
    });
    const r = await run(b);
    expect(r).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'SIGNED_DATA_NOT_FOUND',
    });
    expect(digestCheck(r)?.status).toBe('indeterminate');
  });

  test.each<[string, (b: Json) => void]>([
    ['doNotPerform: true', (b) => (resource(b, 'MedicationRequest').doNotPerform = true)],
    [
      'a modifierExtension',
      (b) =>
        (resource(b, 'MedicationRequest').modifierExtension = [
          { url: 'https://example.org/x', valueBoolean: true },
        ]),
    ],
    [
      'a medicationReference beside the signed medication',
      (b) => (resource(b, 'MedicationRequest').medicationReference = { reference: 'urn:uuid:x' }),
    ],
  ])(
    'added to a signed Bundle, %s → INDETERMINATE, never PASSED (was TOTAL_PASSED)',
    async (_n, edit) => {
      const b = signedBundle();
      edit(b);
      const r = await run(b);
      expect(r).toMatchObject({
        indication: 'INDETERMINATE',
        subIndication: 'SIGNED_DATA_NOT_FOUND',
      });
    },
  );

  test('signature wrapping: a changed, unsigned Bundle holding a signed Bundle is not PASSED on its strength', async () => {
    // Before: an outer Bundle with one Bundle entry and no Provenance was unwrapped whatever else it held, so
    // the signed inner Bundle vouched for the outer one's (changed) prescription.
    const outer = fixture();
    resource(outer, 'MedicationRequest').dispenseRequest.quantity.value = 500;
    (outer.entry as Json[]).push({ fullUrl: 'urn:uuid:wrapped', resource: signedBundle() });
    const r = await run(outer);
    expect(r.indication).not.toBe('TOTAL_PASSED');
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
    // $verify-signature's shape (a Bundle holding one prescription Bundle and nothing else) is still read
    const searchset = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: signedBundle() }],
    };
    expect((await run(searchset)).indication).toBe('TOTAL_PASSED');
  });

  test('a Provenance on its own (no content) → INDETERMINATE / SIGNED_DATA_NOT_FOUND', async () => {
    const r = await run(resource(signedBundle(), 'Provenance'));
    expect(r).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'SIGNED_DATA_NOT_FOUND',
    });
  });

  test('no trust anchors configured → INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND, not FAILED', async () => {
    const r = await run(signedBundle(), { crls, fetchCrl: false });
    expect(r).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
    });
  });

  test('the signing sub-CA configured on its own as the trust anchor → TOTAL_PASSED (EPS trusts its sub-CAs)', async () => {
    const r = await run(signedBundle(), {
      anchors: [signCa()],
      crls,
      fetchCrl: false,
      revocation: 'if-available',
    });
    expect(r.indication).toBe('TOTAL_PASSED');
    expect(r.chain).toHaveLength(2);
  });

  test("a tampered Bundle is FAILED through /api/v1/verify/batch's verifier too (same Verifier.verifyDocument)", async () => {
    const b = signedBundle();
    resource(b, 'MedicationRequest').dispenseRequest.quantity.value = 999;
    const v = createVerifier(opts());
    const reports = await Promise.all(
      [b, signedBundle()].map((d) => v.verifyDocument(Buffer.from(text(d)))),
    );
    expect(reports.map((r) => r.indication)).toEqual(['TOTAL_FAILED', 'TOTAL_PASSED']);
  });
});
