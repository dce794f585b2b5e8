// What you see is what you sign (issue 13 §2, docs/signing.md): a payload with its FHIR Bundle is signed on the
// SoftHSM card only when the SignedInfo is the Bundle's; the answer carries the summary, the Signature, the
// Provenance and the Bundle ready for $process-message, which rxsign's verifier then passes. Runs without
// the EPS vectors (own Bundle under test/prescription/fhir/fixtures).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { openAuditLog, type AuditLog, type AuditRecord } from '../../../src/audit/index.js';
import { pemBlocks, parseCertificate, pemToDer } from '../../../src/cms/index.js';
import { runSign } from '../../../src/cli/sign.js';
import { openTokenPort, type TokenPort } from '../../../src/pkcs11/index.js';
import { prepareBundle } from '../../../src/prescription/fhir/index.js';
import { createSigningService, type SigningService } from '../../../src/signing/index.js';
import { createVerifier } from '../../../src/verify/index.js';
import { pkiPaths, softhsmModule, testCard } from '../../helpers/softhsm.js';

const FIXTURE = resolve(
  import.meta.dirname,
  '..',
  '..',
  'prescription',
  'fhir',
  'fixtures',
  'prescription-order.json',
);
const bundleText = readFileSync(FIXTURE, 'utf8');
const pki = pkiPaths();
const prescriber = testCard('prescriber');

let port: TokenPort;
let dir: string;
let auditPath: string;
let audit: AuditLog;
let svc: SigningService;

const nowIso = (): string => new Date().toISOString().slice(0, 19) + '+00:00';
const records = (): AuditRecord[] =>
  readFileSync(auditPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);

/** Signs one payload sent with its Bundle, as the prescriber with the PIN (`timestamp` left out when undefined). */
const signWithBundle = (id: string, digest: string, bundle: unknown, timestamp?: string) =>
  svc.signEpsBatch(
    {
      payloads: [{ id, payload: digest, bundle }],
      algorithm: 'RS256',
      ...(timestamp === undefined ? {} : { timestamp }),
    },
    { client: 'test', pin: prescriber.pin },
  );

beforeAll(async () => {
  port = await openTokenPort({ modulePath: softhsmModule() });
  dir = mkdtempSync(join(tmpdir(), 'rxsign-fhir-sign-'));
  auditPath = join(dir, 'audit.log');
  audit = await openAuditLog(auditPath);
  svc = createSigningService({
    port,
    token: { label: 'prescriber' },
    pinPolicy: 'session',
    audit,
    chainDer: pemBlocks(readFileSync(pki.chain, 'latin1'), ['CERTIFICATE']),
  });
});

afterAll(async () => {
  svc.close();
  await audit.close();
  await port.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EPS signing with the Bundle beside the digest', () => {
  test('matching SignedInfo → signed; summary, Signature, Provenance and Bundle; the Bundle verifies TOTAL_PASSED', async () => {
    const timestamp = nowIso();
    const prepared = prepareBundle(bundleText, { timestamp });
    const res = await signWithBundle('rx1', prepared.digest, bundleText, timestamp);
    expect(res.failed_signatures).toEqual([]);
    const item = res.signatures[0];
    expect(item?.prescription).toEqual({
      prescriptionId: 'A7B86F-X26AB1-11C3BZ',
      uuid: 'b1c2d3e4-0000-4000-8000-0000000000aa',
      patient: { name: 'MX ALEX SAM EXAMPLE', nhsNumber: '9990000018' },
      items: [
        {
          name: 'Amoxicillin 250mg capsules',
          quantity: '3 capsule',
          dosage: 'One capsule three times a day',
        },
        {
          name: 'Paracetamol 500mg tablets',
          quantity: '32.0 tablet',
          dosage: 'Two tablets up to four times a day & as required',
        },
      ],
    });
    expect(item?.signatureXml).toContain(Buffer.from(prepared.signedInfo).toString('utf8'));
    expect(item?.provenance.resource.signature[0]?.when).toBe(timestamp);
    expect(item?.provenance.resource.signature[0]?.who.reference).toBe(
      'urn:uuid:b1c2d3e4-0000-4000-8000-000000000030',
    );
    // The Bundle keeps 32.0 as written and verifies against its own content.
    expect(item?.bundle).toContain('"value":32.0');
    const anchors = [parseCertificate(pemToDer(readFileSync(pki.root, 'utf8'), ['CERTIFICATE']))];
    const intermediates = pemBlocks(readFileSync(pki.chain, 'latin1'), ['CERTIFICATE']).map((d) =>
      parseCertificate(d),
    );
    const report = await createVerifier({
      anchors,
      intermediates,
      fetchCrl: false,
      revocation: 'if-available',
    }).verifyDocument(Buffer.from(item?.bundle ?? '', 'utf8'));
    expect(report.checks.find((c) => c.id === 'eps.digest')?.status).toBe('passed');
    expect(report.indication).toBe('TOTAL_PASSED');
  });

  test("a SignedInfo that is not the Bundle's (quantity changed) → ERR_SIGN_DIGEST_MISMATCH, nothing signed, audited", async () => {
    const timestamp = nowIso();
    const other = prepareBundle(bundleText.replace('"value": 3,', '"value": 999,'), { timestamp });
    const res = await signWithBundle('rx-mismatch', other.digest, bundleText, timestamp);
    expect(res.signatures).toEqual([]);
    expect(res.failed_signatures).toEqual([
      {
        id: 'rx-mismatch',
        code: 'ERR_SIGN_DIGEST_MISMATCH',
        message: 'the SignedInfo does not match the prescription Bundle: nothing was signed',
      },
    ]);
    const rec = records().find((r) => r.kind === 'sign' && r.documentIds[0] === 'rx-mismatch');
    expect(rec).toMatchObject({ outcome: 'refused', errorCode: 'ERR_SIGN_DIGEST_MISMATCH' });
  });

  test('a Bundle without a timestamp, and a Bundle the translation refuses → not signed, the FHIR element named', async () => {
    const timestamp = nowIso();
    const prepared = prepareBundle(bundleText, { timestamp });
    const noTime = await signWithBundle('rx-t', prepared.digest, bundleText);
    expect(noTime.failed_signatures[0]?.code).toBe('ERR_SIGN_TIMESTAMP_INVALID');
    const bad = JSON.parse(bundleText) as { entry: { resource: Record<string, unknown> }[] };
    delete bad.entry[3]?.resource.birthDate;
    const res = await signWithBundle('rx-bad', prepared.digest, bad, timestamp);
    expect(res.signatures).toEqual([]);
    expect(res.failed_signatures[0]).toMatchObject({
      code: 'ERR_FHIR_ELEMENT_MISSING',
      issues: [{ path: 'Patient[0].birthDate' }],
    });
  });

  test('rxsign sign eps --bundle: prints what is signed and writes the Bundle for $process-message; a mismatch exits 2', async () => {
    const timestamp = nowIso();
    const prepared = prepareBundle(bundleText, { timestamp });
    const env = { ...process.env };
    process.env.RXSIGN_PIN = prescriber.pin;
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
      const bundleOut = join(dir, 'process.json');
      const common = [
        '--module',
        softhsmModule(),
        '--token',
        'prescriber',
        '--audit-log',
        join(dir, 'cli.log'),
      ];
      const signEps = (bundle: string, ...more: string[]) => [
        ...['eps', '--digest', prepared.digest, '--algorithm', 'RS256', '--timestamp', timestamp],
        ...['--bundle', bundle, ...more, ...common],
      ];
      const code = await runSign(signEps(FIXTURE, '--bundle-out', bundleOut), io);
      expect(err).toEqual([]);
      expect(code).toBe(0);
      expect(out.join('\n')).toContain(
        'prescription: A7B86F-X26AB1-11C3BZ for MX ALEX SAM EXAMPLE (NHS number 9990000018)',
      );
      expect(readFileSync(bundleOut, 'utf8')).toContain('"resourceType":"Provenance"');
      const other = join(dir, 'other.json');
      writeFileSync(other, bundleText.replace('"value": 3,', '"value": 999,'));
      const err2: string[] = [];
      const code2 = await runSign(signEps(other), {
        out: () => undefined,
        err: (t) => err2.push(t),
      });
      expect(code2).toBe(2);
      expect(err2.join('')).toContain('ERR_SIGN_DIGEST_MISMATCH');
    } finally {
      process.env = env;
    }
  });
});
