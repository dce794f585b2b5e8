// BoundedCache (src/cms/bounded-cache.ts), and the rule the caches built on it must keep: a cached result never
// changes a verdict. Certificate and CRL signature outcomes are cached by the SHA-256 of both DERs (path.ts,
// crl.ts); another chain, another CRL or another time must still get its own verdict, in any order.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { BoundedCache } from '../../src/cms/bounded-cache.js';
import { parseCertificate, pemToDer, type CertificateInfo } from '../../src/cms/certificate.js';
import { parseCrl, verifyCrlSignature, type CrlInfo } from '../../src/cms/crl.js';
import { validateCertificatePath } from '../../src/cms/path.js';
import { createSigningIdentity, signCades } from '../../src/cms/sign.js';
import { verifyCms } from '../../src/cms/verify.js';
import { TempCa, keySigner, openssl, pki, root, signCa, type Issued } from './fixtures.js';

describe('BoundedCache', () => {
  test('keeps at most max entries, dropping the oldest first', () => {
    const c = new BoundedCache<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) {
      c.set(k, i);
    }
    expect(c.size).toBe(3);
    expect(c.get('a')).toBeUndefined();
    expect([c.get('b'), c.get('c'), c.get('d')]).toEqual([1, 2, 3]);
    c.set('b', 10); // replacing a key drops nothing
    expect(c.size).toBe(3);
    expect(c.get('c')).toBe(2);
  });

  test('getOrCompute computes once per key, including falsy results', () => {
    const c = new BoundedCache<string, boolean>(2);
    let calls = 0;
    const f = (): boolean => (calls++, false);
    expect(c.getOrCompute('x', f)).toBe(false);
    expect(c.getOrCompute('x', f)).toBe(false);
    expect(calls).toBe(1);
    c.getOrCompute('y', () => true);
    c.getOrCompute('z', () => true); // evicts x
    expect(c.getOrCompute('x', f)).toBe(false);
    expect(calls).toBe(2);
  });
});

/** A self-signed certificate with `subject` and (optionally) the key at `keyPath`, made by openssl. */
function selfSigned(
  ca: TempCa,
  name: string,
  subject: string,
  ext: string[],
  keyPath?: string,
): CertificateInfo {
  const key = keyPath ?? ca.file(`${name}.key`, '');
  if (keyPath === undefined) {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  }
  const out = ca.file(`${name}.pem`, '');
  const addext = ext.flatMap((e) => ['-addext', e]);
  openssl([
    'req',
    '-new',
    '-x509',
    '-key',
    key,
    '-subj',
    subject,
    '-days',
    '30',
    '-out',
    out,
    ...addext,
  ]);
  return parseCertificate(pemToDer(readFileSync(out, 'utf8'), ['CERTIFICATE']));
}

describe('cached results never change a verdict', () => {
  let ca: TempCa;
  let user: Issued;
  let arl: CrlInfo;
  let emptyCrl: CrlInfo;
  let revokedCrl: CrlInfo;
  const opts = () => ({ anchors: [root()], intermediates: [signCa()], at: new Date() });

  beforeAll(() => {
    ca = new TempCa('sign-ca');
    user = ca.issue('555000000500_Cache_Signer');
    arl = parseCrl(readFileSync(`${pki.crlDir}/root.arl`));
    emptyCrl = parseCrl(ca.crl());
    ca.revoke(user.certPath, 'keyCompromise');
    revokedCrl = parseCrl(ca.crl());
  });

  test('RFC 5280 §6.1.3 (a)(1) an anchor with the root name and SKID but another key: its own SIG_CRYPTO_FAILURE', async () => {
    const skid = root().subjectKeyId ?? '';
    const impostor = selfSigned(
      ca,
      'impostor-root',
      '/C=GB/O=NHS/OU=CA/CN=Test Root Authority G2',
      [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,cRLSign',
        `subjectKeyIdentifier=${skid}`,
      ],
    );
    expect(impostor.subject).toBe(root().subject);
    expect(impostor.subjectKeyId).toBe(skid);
    const crls = [emptyCrl, arl];
    const real = { ...opts(), crls };
    const fake = { ...real, anchors: [impostor] };
    expect((await validateCertificatePath(user.info, real)).status).toBe('valid');
    expect(await validateCertificatePath(user.info, fake)).toMatchObject({
      status: 'invalid',
      subIndication: 'SIG_CRYPTO_FAILURE',
    });
    expect((await validateCertificatePath(user.info, real)).status).toBe('valid');
    // The ARL verifies with the root's key only, whichever was asked first.
    expect(verifyCrlSignature(arl, impostor)).toBe(false);
    expect(verifyCrlSignature(arl, root())).toBe(true);
  });

  test('RFC 5280 §6.3.3 another CRL for the same certificate: its own revocation verdict', async () => {
    const withCrl = (crl: CrlInfo) => ({ ...opts(), crls: [crl, arl] });
    expect((await validateCertificatePath(user.info, withCrl(emptyCrl))).status).toBe('valid');
    expect(await validateCertificatePath(user.info, withCrl(revokedCrl))).toMatchObject({
      subIndication: 'REVOKED',
    });
    expect((await validateCertificatePath(user.info, withCrl(emptyCrl))).status).toBe('valid');
    // The same CRL with one signature bit changed is another CRL: ignored, not served the cached "valid".
    const tampered = Uint8Array.from(revokedCrl.der);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0x01;
    const r = await validateCertificatePath(user.info, withCrl(parseCrl(tampered)));
    expect(r).toMatchObject({ status: 'indeterminate', subIndication: 'TRY_LATER' });
    expect(r.checks.some((c) => c.id === 'path.revocation[0].crl-signature')).toBe(true);
  });

  test('RFC 5280 §6.3.3 (g) the same CA key in a certificate without cRLSign: its own CRL verdict', () => {
    const noCrlSign = selfSigned(
      ca,
      'same-key',
      '/C=GB/O=nhs/OU=CA/CN=Test Signing G2',
      ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'],
      pki.caKey('sign-ca'),
    );
    expect(noCrlSign.publicKey.spkiDer).toEqual(signCa().publicKey.spkiDer);
    expect(verifyCrlSignature(emptyCrl, signCa())).toBe(true);
    expect(verifyCrlSignature(emptyCrl, noCrlSign)).toBe(false);
    expect(verifyCrlSignature(emptyCrl, signCa())).toBe(true);
  });

  test('RFC 5280 §6.1.3 (a)(2) validity and CRL freshness are evaluated on every call', async () => {
    const o = { ...opts(), crls: [emptyCrl, arl] };
    const late = new Date(user.info.notAfter.getTime() + 1000);
    expect((await validateCertificatePath(user.info, o)).status).toBe('valid');
    expect(await validateCertificatePath(user.info, { ...o, at: late })).toMatchObject({
      subIndication: 'EXPIRED',
    });
    const stale = () => new Date((emptyCrl.nextUpdate ?? new Date()).getTime() + 1000);
    expect(await validateCertificatePath(user.info, { ...o, now: stale })).toMatchObject({
      subIndication: 'TRY_LATER',
    });
    expect((await validateCertificatePath(user.info, o)).status).toBe('valid');
  });

  test('RFC 5652 §11.3 two CMS by the same signer at different signing times: each its own verdict', async () => {
    const signer = new TempCa('sign-ca').issue('555000000501_Cache_Cms');
    const identity = createSigningIdentity(signer.certDer);
    const sign = (signingTime: Date) =>
      signCades({
        content: Buffer.from('rx'),
        identity,
        signer: keySigner(signer.keyPem),
        signingTime,
      });
    const o = { anchors: [root()], intermediates: [signCa()], revocation: 'off' as const };
    const inside = await sign(new Date(Date.now() - 60_000));
    const before = await sign(new Date(signer.info.notBefore.getTime() - 60_000));
    expect((await verifyCms(inside, o)).indication).toBe('TOTAL_PASSED');
    expect(await verifyCms(before, o)).toMatchObject({ subIndication: 'NOT_YET_VALID' });
    expect((await verifyCms(inside, o)).indication).toBe('TOTAL_PASSED');
  });
});
