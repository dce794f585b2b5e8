// parseCertificate and PEM helpers (src/cms/certificate.ts, src/cms/pem.ts) against openssl's view of the test PKI.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { derToPem, parseCertificate, pemToDer } from '../../src/cms/certificate.js';
import { certFile, openssl, pki } from './fixtures.js';

describe('RFC 5280 §4.1 certificate fields', () => {
  const path = pki.cardCert('prescriber', 'sign');
  const cert = certFile(path);
  const x509 = (flag: string): string =>
    openssl(['x509', '-in', path, '-noout', flag, ...(flag === '-fingerprint' ? ['-sha256'] : [])])
      .toString()
      .trim();

  test('names, serial, fingerprint and dates agree with openssl', () => {
    expect(cert.subject).toBe('CN=555000000001_One_Prescriber,OU=People,O=nhs');
    expect(cert.subjectCN).toBe('555000000001_One_Prescriber');
    expect(cert.issuer).toBe('CN=Test Signing G2,OU=CA,O=nhs,C=GB');
    expect(cert.serialHex).toBe(x509('-serial').replace('serial=', '').toLowerCase());
    expect(cert.fingerprintSha256).toBe(
      x509('-fingerprint').replace(/^.*=/, '').replace(/:/g, '').toLowerCase(),
    );
    expect(cert.notAfter.getTime()).toBe(
      new Date(x509('-enddate').replace('notAfter=', '')).getTime(),
    );
    expect(cert.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(cert.publicKey).toMatchObject({ algorithm: 'RSA', bits: 2048 });
  });

  test('RFC 5280 §4.2 extensions: keyUsage, policies, PKUP, CRL DP, SKID/AKID, basicConstraints', () => {
    expect(cert.keyUsage).toMatchObject({
      nonRepudiation: true,
      digitalSignature: false,
      keyCertSign: false,
    });
    expect(cert.policies).toEqual(['1.2.826.0.1275.102.0.3.2.0']);
    expect(cert.privateKeyUsagePeriod?.notAfter).toBeInstanceOf(Date);
    expect(cert.crlDistributionUrls).toEqual(['http://crl.rxsign.test/sign-ca.crl']);
    expect(cert.authorityKeyId).toBe(certFile(pki.signCa).subjectKeyId);
    expect(cert.isCA).toBe(false);
    const ca = certFile(pki.signCa);
    expect(ca).toMatchObject({
      isCA: true,
      pathLen: 0,
      keyUsage: { keyCertSign: true, cRLSign: true },
    });
  });

  test('a certificate is parsed once (cache by DER hash) and the result is frozen', () => {
    const again = parseCertificate(Uint8Array.from(cert.der));
    expect(again).toBe(cert);
    expect(Object.isFrozen(cert)).toBe(true);
  });

  test('X.690 malformed, truncated or trailing bytes → ERR_CERT_MALFORMED', () => {
    for (const bad of [
      new Uint8Array(0),
      cert.der.subarray(0, 100),
      Buffer.concat([cert.der, Buffer.from([0])]),
      Buffer.from('not a cert'),
      // SEQUENCE { GeneralizedTime "ABC" }: asn1js throws a plain Error for it instead of failing the decode.
      Uint8Array.of(0x30, 0x05, 0x18, 0x03, 0x41, 0x42, 0x43),
    ]) {
      expect(() => parseCertificate(bad)).toThrow(
        expect.objectContaining({
          code: 'ERR_CERT_MALFORMED',
          message: 'the certificate is malformed',
        }),
      );
    }
  });
});

describe('RFC 7468 PEM with strict base64', () => {
  const text = readFileSync(pki.root, 'utf8');

  test('round trip', () => {
    const der = pemToDer(text, ['CERTIFICATE']);
    expect(pemToDer(derToPem(der, 'CERTIFICATE'), ['CERTIFICATE'])).toEqual(der);
    expect(derToPem(der, 'CERTIFICATE')).toBe(text.replace(/\r/g, ''));
  });

  test('RFC 4648 §3.3 non-alphabet characters, bad padding and label mismatch are rejected', () => {
    const body = text.split('\n').slice(1, -2).join('\n');
    const wrap = (b: string, end = 'CERTIFICATE'): string =>
      `-----BEGIN CERTIFICATE-----\n${b}\n-----END ${end}-----\n`;
    expect(() => pemToDer(wrap(body.replace(/A/, '*')))).toThrow(
      expect.objectContaining({ code: 'ERR_PEM_MALFORMED' }),
    );
    expect(() => pemToDer(wrap(body.slice(0, -1)))).toThrow(
      expect.objectContaining({ code: 'ERR_PEM_MALFORMED' }),
    );
    expect(() => pemToDer(wrap(body, 'X509 CRL'))).toThrow(
      expect.objectContaining({ code: 'ERR_PEM_MALFORMED' }),
    );
    expect(() => pemToDer(text, ['X509 CRL'])).toThrow(
      expect.objectContaining({ code: 'ERR_PEM_MALFORMED' }),
    );
  });
});
