// CRLs (src/cms/crl.ts): signature verification and the EPS revocation rule (docs/protocol/eps-signing.md §2.5).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseCrl, revocationStatus, verifyCrlSignature } from '../../src/cms/crl.js';
import { TempCa, certFile, openssl, pki, signCa } from './fixtures.js';

describe('RFC 5280 §5 test PKI CRLs', () => {
  const crl = parseCrl(readFileSync(`${pki.crlDir}/sign-ca.crl`));

  test('fields and the revoked card (keyCompromise)', () => {
    const revoked = certFile(pki.cardCert('revoked', 'sign'));
    expect(crl.issuer).toBe('CN=Test Signing G2,OU=CA,O=nhs,C=GB');
    expect(crl.nextUpdate?.getTime()).toBeGreaterThan(crl.thisUpdate.getTime());
    expect(crl.authorityKeyId).toBe(signCa().subjectKeyId);
    expect(crl.entries).toContainEqual(
      expect.objectContaining({ serialHex: revoked.serialHex, reason: 1 }),
    );
    // keyCompromise: revoked even for a signature made long before the revocation date.
    expect(revocationStatus(crl, revoked.serialHex, new Date('2000-01-01')).revoked).toBe(true);
    expect(
      revocationStatus(crl, certFile(pki.cardCert('prescriber', 'sign')).serialHex, new Date())
        .revoked,
    ).toBe(false);
  });

  test('RFC 5280 §6.3.3 (g) signature verified with the issuer key; another CA is rejected', () => {
    expect(verifyCrlSignature(crl, signCa())).toBe(true);
    expect(verifyCrlSignature(crl, certFile(pki.authCa))).toBe(false);
  });

  test('a CRL with the right issuer name signed by the wrong key is rejected', () => {
    const fake = new TempCa('sign-ca');
    const key = fake.file('fake.key', '');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
    const cert = fake.file('fake.pem', '');
    openssl([
      'req',
      '-new',
      '-x509',
      '-key',
      key,
      '-subj',
      '/C=GB/O=nhs/OU=CA/CN=Test Signing G2',
      '-days',
      '30',
      '-out',
      cert,
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const forged = parseCrl(new TempCa('sign-ca', cert, key).crl());
    expect(forged.issuer).toBe(crl.issuer);
    expect(verifyCrlSignature(forged, signCa())).toBe(false);
  });

  test('PEM input, and malformed input → ERR_CRL_MALFORMED', () => {
    const pem = openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      `${pki.crlDir}/sign-ca.crl`,
      '-outform',
      'PEM',
    ]);
    expect(parseCrl(pem).der).toEqual(crl.der);
    for (const bad of [
      Buffer.from('junk'),
      crl.der.subarray(0, 40),
      Buffer.concat([crl.der, Buffer.from([1])]),
      // SEQUENCE { GeneralizedTime "ABC" }: asn1js throws a plain Error for it instead of failing the decode.
      Uint8Array.of(0x30, 0x05, 0x18, 0x03, 0x41, 0x42, 0x43),
    ]) {
      expect(() => parseCrl(bad)).toThrow(expect.objectContaining({ code: 'ERR_CRL_MALFORMED' }));
    }
  });
});

describe('docs/protocol/eps-signing.md §2.5 reason codes and dates', () => {
  const ca = new TempCa('sign-ca');
  const users = [
    'keyCompromise',
    'CACompromise',
    'superseded',
    'cessationOfOperation',
    'unspecified',
  ].map((r) => {
    const u = ca.issue(`555000000300_${r}`);
    ca.revoke(u.certPath, r);
    return { reason: r, serial: u.info.serialHex };
  });
  const noReason = ca.issue('555000000301_NoReason');
  openssl(['ca', '-batch', '-config', ca.cfg, '-revoke', noReason.certPath]);
  const crl = parseCrl(ca.crl());
  const before = new Date(Date.now() - 86_400_000);
  const after = new Date(Date.now() + 86_400_000);

  test('keyCompromise(1) and cACompromise(2) → revoked whatever the signing time', () => {
    for (const u of users.slice(0, 2)) {
      expect(revocationStatus(crl, u.serial, before).revoked).toBe(true);
    }
  });

  test('superseded, cessationOfOperation, unspecified → revoked iff signingTime ≥ revocationDate', () => {
    for (const u of users.slice(2)) {
      expect(revocationStatus(crl, u.serial, before).revoked).toBe(false);
      expect(revocationStatus(crl, u.serial, after).revoked).toBe(true);
    }
  });

  test('missing reason code → the same date rule', () => {
    const entry = crl.entries.find((e) => e.serialHex === noReason.info.serialHex);
    expect(entry?.reason).toBeUndefined();
    expect(revocationStatus(crl, noReason.info.serialHex, before).revoked).toBe(false);
    expect(revocationStatus(crl, noReason.info.serialHex, after).revoked).toBe(true);
  });
});

const eps = `${import.meta.dirname}/../../../shared/vectors/eps/certs`;
describe.skipIf(!existsSync(eps))('EPS mock CA ARL (needs ../shared/vectors)', () => {
  const read = (f: string) => readFileSync(`${eps}/${f}`);
  test('ARL signed by mock-ca, not by the same-named mock-revokedCa; superseded CA revoked from its revocation date', () => {
    const arl = parseCrl(read('mock-ca-arl.crl.pem'));
    const mockCa = certFile(`${eps}/mock-ca.pem`);
    const revokedCa = certFile(`${eps}/mock-revokedCa.pem`);
    expect(verifyCrlSignature(arl, mockCa)).toBe(true);
    expect(verifyCrlSignature(arl, revokedCa)).toBe(false);
    const entry = arl.entries.find((e) => e.serialHex === revokedCa.serialHex);
    expect(entry).toMatchObject({ reason: 4 });
    expect(
      revocationStatus(arl, revokedCa.serialHex, new Date('2023-04-25T14:42:37Z')).revoked,
    ).toBe(false);
    expect(
      revocationStatus(arl, revokedCa.serialHex, new Date('2023-09-11T00:00:00Z')).revoked,
    ).toBe(true);
    expect(revocationStatus(arl, '02', new Date('2020-01-01')).revoked).toBe(true);
  });
});
