// validateCertificatePath (src/cms/path.ts) on the test PKI cards, with one negative test per rule.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseCertificate } from '../../src/cms/certificate.js';
import { parseCrl } from '../../src/cms/crl.js';
import { validateCertificatePath } from '../../src/cms/path.js';
import { TempCa, authCa, certFile, pki, root, signCa } from './fixtures.js';

const crls = ['sign-ca.crl', 'auth-ca.crl', 'root.arl'].map((f) =>
  parseCrl(readFileSync(`${pki.crlDir}/${f}`)),
);
const base = () => ({
  anchors: [root()],
  intermediates: [signCa(), authCa()],
  crls,
  at: new Date(),
});
const card = (label: string, kind: 'auth' | 'sign' = 'sign') => certFile(pki.cardCert(label, kind));

describe('RFC 5280 §6 path validation', () => {
  test('prescriber signing and auth certificates → valid, chain leaf → root', async () => {
    const r = await validateCertificatePath(card('prescriber'), base());
    expect(r.status).toBe('valid');
    expect(r.chain.map((c) => c.subjectCN)).toEqual([
      '555000000001_One_Prescriber',
      'Test Signing G2',
      'Test Root Authority G2',
    ]);
    expect((await validateCertificatePath(card('prescriber', 'auth'), base())).status).toBe(
      'valid',
    );
  });

  test('revoked card (keyCompromise on sign-ca.crl) → REVOKED', async () => {
    expect(await validateCertificatePath(card('revoked'), base())).toMatchObject({
      status: 'invalid',
      subIndication: 'REVOKED',
    });
  });

  test('expired card → EXPIRED; before notBefore → NOT_YET_VALID', async () => {
    expect(await validateCertificatePath(card('expired'), base())).toMatchObject({
      status: 'invalid',
      subIndication: 'EXPIRED',
    });
    const p = card('prescriber');
    expect(
      await validateCertificatePath(p, { ...base(), at: new Date(p.notBefore.getTime() - 1000) }),
    ).toMatchObject({ subIndication: 'NOT_YET_VALID' });
  });

  test('legacy card (RSA-1024, SHA-1) → CRYPTO_CONSTRAINTS_FAILURE unless allowed', async () => {
    expect(await validateCertificatePath(card('legacy'), base())).toMatchObject({
      status: 'invalid',
      subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
    });
    expect(
      (
        await validateCertificatePath(card('legacy'), {
          ...base(),
          allowSha1: true,
          minRsaBits: 1024,
        })
      ).status,
    ).toBe('valid');
  });

  test('no anchor for the chain → NO_CERTIFICATE_CHAIN_FOUND; a missing intermediate too', async () => {
    expect(
      await validateCertificatePath(card('prescriber'), { ...base(), anchors: [authCa()] }),
    ).toMatchObject({ subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
    expect(
      await validateCertificatePath(card('prescriber'), { ...base(), intermediates: [] }),
    ).toMatchObject({ subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
  });

  test('a broken certificate signature in the chain → SIG_CRYPTO_FAILURE (not metadata-only checkIssued)', async () => {
    const der = Uint8Array.from(card('multi-role').der);
    der[der.length - 10] = (der[der.length - 10] ?? 0) ^ 0x01;
    expect(await validateCertificatePath(parseCertificate(der), base())).toMatchObject({
      status: 'invalid',
      subIndication: 'SIG_CRYPTO_FAILURE',
    });
  });

  test('a certificate its issuer did not sign: its CRL distribution points are not fetched', async () => {
    const der = Uint8Array.from(card('multi-role').der);
    der[der.length - 10] = (der[der.length - 10] ?? 0) ^ 0x01;
    const seen: string[] = [];
    const r = await validateCertificatePath(parseCertificate(der), {
      ...base(),
      crls: [],
      fetchCrl: async (url) => (seen.push(url), undefined),
    });
    expect(r).toMatchObject({ status: 'invalid', subIndication: 'SIG_CRYPTO_FAILURE' });
    expect(seen.some((u) => u.endsWith('sign-ca.crl'))).toBe(false);
  });

  test('an issuer that is not a CA → CHAIN_CONSTRAINTS_FAILURE', async () => {
    const ca = new TempCa('sign-ca');
    const ee = ca.issue('555000000400_Not_A_Ca', { ku: 'nonRepudiation, keyCertSign' });
    const below = new TempCa('sign-ca', ee.certPath, ee.keyPath).issue('555000000401_Below_EE');
    const r = await validateCertificatePath(below.info, {
      ...base(),
      intermediates: [ee.info, signCa()],
      crls: [...crls, parseCrl(ca.crl())],
      revocation: 'off',
    });
    expect(r).toMatchObject({ status: 'invalid', subIndication: 'CHAIN_CONSTRAINTS_FAILURE' });
  });

  test("sub-CA revoked on the root ARL (cACompromise) → REVOKED; 'off' skips revocation", async () => {
    const signer = certFile(pki.retiredSigner);
    const opts = {
      ...base(),
      intermediates: [certFile(pki.retiredCa)],
      crls: [...crls, parseCrl(readFileSync(`${pki.crlDir}/retired-ca.crl`))],
    };
    expect(await validateCertificatePath(signer, opts)).toMatchObject({ subIndication: 'REVOKED' });
    expect((await validateCertificatePath(signer, { ...opts, revocation: 'off' })).status).toBe(
      'valid',
    );
  });

  test("revocation 'require' with an unreachable CRL (fetchCrl throws) → indeterminate TRY_LATER", async () => {
    const r = await validateCertificatePath(card('prescriber'), {
      ...base(),
      crls: [],
      fetchCrl: async () => Promise.reject(new Error('timeout')),
    });
    expect(r).toMatchObject({ status: 'indeterminate', subIndication: 'TRY_LATER' });
  });

  test('a stale CRL (nextUpdate before now) is not used', async () => {
    const r = await validateCertificatePath(card('prescriber'), {
      ...base(),
      now: () => new Date(Date.now() + 90 * 86_400_000),
    });
    expect(r).toMatchObject({ status: 'indeterminate', subIndication: 'TRY_LATER' });
  });
});
