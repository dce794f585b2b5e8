// The card certificate rules both simulators apply (src/spine-sim/card-certificate.ts): one test per rule of
// the file's header, against the login PKI of the simulator's tests (test/spine-sim/fixture.ts).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseCertificate, pemToDer, type CertificateInfo } from '../../src/cms/index.js';
import {
  cardCertificateRefusal,
  type CardCertificateContext,
} from '../../src/spine-sim/card-certificate.js';
import { pkiPaths } from '../helpers/softhsm.js';
import { makeLoginPki, type LoginPki } from './fixture.js';

const DAY = 86_400_000;
let pki: LoginPki;
let ctx: CardCertificateContext;
let now: number;

function cert(path: string): CertificateInfo {
  return parseCertificate(pemToDer(readFileSync(path, 'latin1'), ['CERTIFICATE']));
}

beforeAll(() => {
  pki = makeLoginPki();
  now = Date.now(); // after the certificates are issued (notBefore = issue time)
  ctx = { trust: pki.trust, crls: pki.crls, revocation: 'require', allowLegacyCrypto: false };
});
afterAll(() => pki.cleanup());

describe('cardCertificateRefusal', () => {
  test('control: a valid card certificate passes', async () => {
    expect(
      await cardCertificateRefusal(cert(pki.ids.prescriber.cert), ctx, { now }),
    ).toBeUndefined();
  });

  test('RFC 5280 §4.2.1.3: a keyUsage without digitalSignature is CERT_KEY_USAGE', async () => {
    // A CA certificate: keyCertSign and cRLSign only.
    expect(await cardCertificateRefusal(cert(pkiPaths().signCa), ctx, { now })).toEqual({
      code: 'CERT_KEY_USAGE',
    });
  });

  test('a revoked certificate (on the CA CRL) is CERT_REVOKED, with what path validation said', async () => {
    const r = await cardCertificateRefusal(cert(pki.ids.revoked.cert), ctx, { now });
    expect(r?.code).toBe('CERT_REVOKED');
    expect(r?.detail).toMatch(/^path \w+ REVOKED/);
  });

  test('an expired certificate is CERT_EXPIRED', async () => {
    const r = await cardCertificateRefusal(cert(pki.ids.prescriber.cert), ctx, {
      now: now + 3 * DAY,
    });
    expect(r?.code).toBe('CERT_EXPIRED');
  });

  test('a certificate not yet valid is CERT_NOT_YET_VALID', async () => {
    const r = await cardCertificateRefusal(cert(pki.ids.prescriber.cert), ctx, { now: now - DAY });
    expect(r?.code).toBe('CERT_NOT_YET_VALID');
  });

  test('a certificate from a CA outside the trust folder is CERT_UNTRUSTED', async () => {
    const r = await cardCertificateRefusal(cert(pki.ids.untrusted.cert), ctx, { now });
    expect(r?.code).toBe('CERT_UNTRUSTED');
  });

  test('certificates the client sends are only candidate intermediates: its own CA is no anchor', async () => {
    const rogue = cert(`${pki.dir}/rogue-ca.pem`);
    const r = await cardCertificateRefusal(cert(pki.ids.untrusted.cert), ctx, {
      now,
      sent: [rogue],
    });
    expect(r?.code).toBe('CERT_UNTRUSTED');
  });

  test('RSA-1024 and SHA-1 certificate signatures pass only when the simulator allows legacy crypto', async () => {
    const legacy = cert(pkiPaths().cardCert('legacy', 'auth'));
    expect(await cardCertificateRefusal(legacy, ctx, { now })).toMatchObject({
      code: 'CERT_UNTRUSTED',
      detail: 'path invalid CRYPTO_CONSTRAINTS_FAILURE',
    });
    expect(
      await cardCertificateRefusal(legacy, { ...ctx, allowLegacyCrypto: true }, { now }),
    ).toBeUndefined();
  });
});
