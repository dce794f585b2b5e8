// EPS vectors (shared/vectors/eps, read in place): the EPS checks, their order and messages (docs/protocol/eps-signing.md §2.2, §4).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseCertificate, pemToDer, type CertificateInfo } from '../../src/cms/certificate.js';
import { parseCrl } from '../../src/cms/crl.js';
import {
  createVerifier,
  type Check,
  type VerificationReport,
  type VerifierOptions,
} from '../../src/verify/index.js';

const V = `${import.meta.dirname}/../../../shared/vectors/eps/`;
const present = existsSync(`${V}INDEX.md`);
const cert = (n: string): CertificateInfo =>
  parseCertificate(pemToDer(readFileSync(`${V}certs/${n}`, 'utf8'), ['CERTIFICATE']));
const check = (r: VerificationReport, id: string): Check | undefined =>
  r.checks.find((c) => c.id === id);
const verify = (file: string, o: VerifierOptions = {}) =>
  createVerifier({ fetchCrl: false, ...o }).verifyDocument(readFileSync(`${V}${file}`));

describe.skipIf(!present)('EPS HL7 v3 vectors (skipped: shared/vectors/eps not present)', () => {
  test('ValidSignature: signature and digest pass; with its certificate as anchor, SHA-1 allowed and revocation off → TOTAL_PASSED', async () => {
    const r = await verify('hl7v3/ValidSignature.xml', {
      anchors: [cert('signer-ValidSignature-JohnSmith-INT-Level2D.pem')],
      allowSha1: true,
      revocation: 'off',
    });
    expect(check(r, 'eps.signature')?.status).toBe('passed');
    expect(check(r, 'eps.digest')?.status).toBe('passed');
    expect(r).toMatchObject({
      indication: 'TOTAL_PASSED',
      signingTime: '2021-07-26T12:05:22.000Z',
    });
  });

  test('ValidSignature with its certificate as anchor under the default revocation policy → INDETERMINATE (its revocation was not checked)', async () => {
    const r = await verify('hl7v3/ValidSignature.xml', {
      anchors: [cert('signer-ValidSignature-JohnSmith-INT-Level2D.pem')],
      allowSha1: true,
    });
    expect(r).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'TRY_LATER' });
    expect(check(r, 'path.revocation[0]')?.status).toBe('indeterminate');
  });

  test('ValidSignature without its (non-public) issuer, another anchor configured → NO_CERTIFICATE_CHAIN_FOUND, "Certificate not trusted"', async () => {
    const r = await verify('hl7v3/ValidSignature.xml', {
      allowSha1: true,
      anchors: [cert('NHS_INT_Level1D-subCA.pem')],
    });
    expect(r).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
    });
    expect(check(r, 'path.build')?.message).toBe('Certificate not trusted');
    expect(check(r, 'eps.signature')?.status).toBe('passed');
  });

  test('ValidSignature with no trust anchor configured at all → INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND, not FAILED', async () => {
    const r = await verify('hl7v3/ValidSignature.xml', { allowSha1: true });
    expect(r).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'NO_CERTIFICATE_CHAIN_FOUND',
    });
    expect(check(r, 'path.build')).toMatchObject({
      status: 'indeterminate',
      message: 'no trust anchors configured: the certificate was not checked',
    });
  });

  test('ValidSignature under the default policy (SHA-1 not allowed) → CRYPTO_CONSTRAINTS_FAILURE', async () => {
    const r = await verify('hl7v3/ValidSignature.xml', {
      anchors: [cert('signer-ValidSignature-JohnSmith-INT-Level2D.pem')],
    });
    expect(r).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
    });
  });

  test('SignatureAlgorithmSha256.UNWRAPPED-derived (RS256) with its certificate as anchor → TOTAL_PASSED, UID from the CN', async () => {
    const r = await verify('hl7v3/SignatureAlgorithmSha256.UNWRAPPED-derived.xml', {
      anchors: [cert('signer-Sha256-AssuranceTeamTwo-INT-SigningG2.pem')],
      revocation: 'off',
    });
    expect(r.checks.filter((c) => c.status !== 'passed' && c.status !== 'skipped')).toEqual([]);
    expect(r).toMatchObject({
      indication: 'TOTAL_PASSED',
      signer: { name: '555073168108_Assurance_TeamTwo', uid: '555073168108' },
    });
  });

  test('SignatureAlgorithmSha256 (formatter-wrapped text) → HASH_FAILURE, signature itself valid', async () => {
    const r = await verify('hl7v3/SignatureAlgorithmSha256.xml', {
      anchors: [cert('signer-Sha256-AssuranceTeamTwo-INT-SigningG2.pem')],
    });
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
    expect(check(r, 'eps.signature')?.status).toBe('passed');
  });

  test('SignatureIsInvalid → SIG_CRYPTO_FAILURE "Signature is invalid"; digest and chain to Level 1D pass', async () => {
    const r = await verify('hl7v3/SignatureIsInvalid.xml', {
      anchors: [cert('NHS_INT_Level1D-subCA.pem')],
      allowSha1: true,
    });
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
    expect(check(r, 'eps.signature')?.message).toBe('Signature is invalid');
    expect(check(r, 'eps.digest')?.status).toBe('passed');
    expect(check(r, 'path.build')?.status).toBe('passed');
    expect(check(r, 'path.signature[0]')?.status).toBe('passed');
  });

  test('SignatureDoesNotMatchPrescription → HASH_FAILURE "Signature doesn\'t match prescription" (after the signature check)', async () => {
    const r = await verify('hl7v3/SignatureDoesNotMatchPrescription.xml', { allowSha1: true });
    expect(check(r, 'eps.digest')).toMatchObject({
      status: 'failed',
      subIndication: 'HASH_FAILURE',
      message: "Signature doesn't match prescription",
    });
    expect(check(r, 'eps.signature')?.status).toBe('failed');
  });

  test('DSS-846 (vendor signed non-canonical SignedInfo) → SIG_CRYPTO_FAILURE, digest passes', async () => {
    const r = await verify('hl7v3/DSS-846-real-INT-signed-noncanonical-SignedInfo.xml');
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
    expect(check(r, 'eps.digest')?.status).toBe('passed');
  });

  const arl = () => ({
    // EPS lists both mock CAs in SUBCACC_CERT; the ARL is signed by mock-ca's key.
    anchors: [cert('mock-ca.pem'), cert('mock-revokedCa.pem')],
    crls: [parseCrl(readFileSync(`${V}certs/mock-ca-arl.crl.pem`))],
    now: () => new Date('2023-06-01T00:00:00Z'),
  });

  test('SignatureCertCaOnArl: sub-CA on the ARL (superseded, signed after) → "CA certificate is revoked" (REVOKED)', async () => {
    const r = await verify('hl7v3/SignatureCertCaOnArl.xml', arl());
    expect(check(r, 'eps.ca-revoked')).toMatchObject({
      status: 'failed',
      subIndication: 'REVOKED',
      message: 'CA certificate is revoked',
    });
    expect(r.chain.map((c) => c.serial)).toEqual([
      '05',
      '71731e5c6d885c4939127f527cc41a7fcee6f497',
    ]);
  });

  test('SignatureCertCaNotOnArl: issuing CA not on the ARL → CA revocation check passes', async () => {
    const r = await verify('hl7v3/SignatureCertCaNotOnArl.xml', arl());
    expect(check(r, 'eps.ca-revoked')?.status).toBe('passed');
    expect(check(r, 'path.build')?.status).toBe('passed');
  });
});

describe.skipIf(!present)('EPS FHIR vectors (skipped: shared/vectors/eps not present)', () => {
  const files = {
    din: 'fhir-signed/primary-care__repeat-dispensing__nominated-pharmacy__medical-prescriber__author__gmc__responsible-party__medication-list__din__1-VerifySignature-Request-200_OK.json',
    smith:
      'fhir-signed/secondary-care__community__repeat-dispensing__nominated-pharmacy__clinical-practitioner__single-medication-request__1-Process-Request-Send-200_OK.json',
    emuBundle:
      'fhir-signed/spec__errors__example-b-spine-error-patient-deceased__SendRequest-FhirMessageSigned.json',
    emuSignature: 'fhir-signed/signature.json',
  };

  // Their digests are stale (INDEX.md §2–3: the examples were edited after signing): the content rebuilt from
  // the Bundle does not match, as EPS would also find.
  test.each([files.din, files.smith])(
    "%s: RSA passes; the digest over the Bundle's own content → HASH_FAILURE",
    async (f) => {
      const r = await verify(f, { allowSha1: true });
      expect(r.format).toBe('FHIR-XMLDSig');
      expect(check(r, 'eps.format')?.status).toBe('passed');
      expect(check(r, 'eps.signature')?.status).toBe('passed');
      expect(check(r, 'eps.digest')).toMatchObject({
        status: 'failed',
        subIndication: 'HASH_FAILURE',
        message: "Signature doesn't match prescription",
      });
    },
  );

  test('EMU Bundle (two professional codes, which EPS refuses too): content not rebuilt → digest INDETERMINATE / SIGNED_DATA_NOT_FOUND', async () => {
    const r = await verify(files.emuBundle, { allowSha1: true });
    expect(check(r, 'eps.signature')?.status).toBe('passed');
    expect(check(r, 'eps.digest')).toMatchObject({
      status: 'indeterminate',
      subIndication: 'SIGNED_DATA_NOT_FOUND',
    });
  });

  test('a bare Signature datatype: no content → digest INDETERMINATE / SIGNED_DATA_NOT_FOUND, never skipped', async () => {
    const r = await verify(files.emuSignature, { allowSha1: true });
    expect(check(r, 'eps.signature')?.status).toBe('passed');
    expect(check(r, 'eps.digest')).toMatchObject({
      status: 'indeterminate',
      subIndication: 'SIGNED_DATA_NOT_FOUND',
    });
  });

  test('RANDOM_USERQ bundle chains to INT Level 1D', async () => {
    const r = await verify(files.din, {
      allowSha1: true,
      anchors: [cert('NHS_INT_Level1D-subCA.pem')],
    });
    expect(check(r, 'path.build')?.status).toBe('passed');
  });

  // when = 2008, certificate 2020–22: EPS says "Certificate expired when signed"; DSS calls it NOT_YET_VALID.
  test.each([files.emuBundle, files.emuSignature])(
    'EMU %s → "Certificate expired when signed" (NOT_YET_VALID) at its when',
    async (f) => {
      const r = await verify(f, { allowSha1: true });
      expect(r).toMatchObject({
        indication: 'TOTAL_FAILED',
        subIndication: 'NOT_YET_VALID',
        signingTime: '2008-02-27T11:38:00.000Z',
      });
      expect(check(r, 'signer.validity')?.message).toBe('Certificate expired when signed');
    },
  );
});
