// verifyCms (src/cms/verify.ts): openssl-made and rxsign-made CMS against the test PKI, one negative test per rule.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { parseCrl, type CrlInfo } from '../../src/cms/crl.js';
import { createSigningIdentity, signCades } from '../../src/cms/sign.js';
import { verifyCms } from '../../src/cms/verify.js';
import {
  TempCa,
  certFile,
  keySigner,
  openssl,
  opensslCmsSign,
  pki,
  root,
  signCa,
  type Issued,
} from './fixtures.js';

let ca: TempCa;
let good: Issued;
let crls: CrlInfo[];
const content = Buffer.from('the prescription\n');

function osslSign(u: Issued, o: { detached?: boolean; extra?: string[] } = {}): Buffer {
  return opensslCmsSign(ca.file(`in-${Math.random()}.bin`, content), [u], o);
}

const opts = () => ({ anchors: [root()], intermediates: [signCa()], crls });

beforeAll(() => {
  ca = new TempCa('sign-ca');
  good = ca.issue('555000000123_Good_Signer');
  crls = [parseCrl(ca.crl()), parseCrl(readFileSync(`${pki.crlDir}/root.arl`))];
});

describe('verifyCms: openssl cms -sign output', () => {
  test('attached with default attributes → TOTAL_PASSED', async () => {
    const r = await verifyCms(osslSign(good), opts());
    expect(r.checks.filter((c) => c.status === 'failed')).toEqual([]);
    expect(r).toMatchObject({
      indication: 'TOTAL_PASSED',
      signer: {
        name: '555000000123_Good_Signer',
        uid: '555000000123',
        certificateSerial: good.info.serialHex,
      },
    });
    expect(r.chain.map((c) => c.subject)).toEqual([
      'CN=555000000123_Good_Signer,OU=People,O=nhs',
      'CN=Test Signing G2,OU=CA,O=nhs,C=GB',
      'CN=Test Root Authority G2,OU=CA,O=NHS,C=GB',
    ]);
  });

  test('detached (PEM) with detachedContent → TOTAL_PASSED; without it → SIGNED_DATA_NOT_FOUND', async () => {
    const pem = openssl([
      'cms',
      '-cmsout',
      '-inform',
      'DER',
      '-outform',
      'PEM',
      '-in',
      ca.file('d.der', osslSign(good, { detached: true })),
    ]);
    expect((await verifyCms(pem, { ...opts(), detachedContent: content })).indication).toBe(
      'TOTAL_PASSED',
    );
    expect(await verifyCms(pem, opts())).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'SIGNED_DATA_NOT_FOUND',
    });
  });

  test('RFC 5652 §11.2 tampered content → HASH_FAILURE', async () => {
    expect(
      await verifyCms(osslSign(good, { detached: true }), {
        ...opts(),
        detachedContent: Buffer.from('the prescriptioN\n'),
      }),
    ).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
  });

  test('RFC 5652 §5.6 tampered signature → SIG_CRYPTO_FAILURE', async () => {
    const der = Uint8Array.from(osslSign(good));
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0x40;
    expect(await verifyCms(der, opts())).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'SIG_CRYPTO_FAILURE',
    });
  });

  test('RFC 5280 §6.1 unknown CA → NO_CERTIFICATE_CHAIN_FOUND', async () => {
    expect(
      await verifyCms(osslSign(good), {
        ...opts(),
        anchors: [certFile(pki.authCa)],
        intermediates: [],
      }),
    ).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
  });

  test('RFC 5280 §6.3 revoked signer (keyCompromise on the CRL) → REVOKED', async () => {
    const ca2 = new TempCa('sign-ca');
    const u = ca2.issue('555000000124_Revoked');
    ca2.revoke(u.certPath, 'keyCompromise');
    const r = await verifyCms(osslSign(u), {
      ...opts(),
      crls: [parseCrl(ca2.crl()), ...crls.slice(1)],
    });
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'REVOKED' });
  });

  test('signer under a sub-CA revoked on the root ARL (cACompromise) → REVOKED', async () => {
    const retired = { certPath: pki.retiredSigner, keyPath: pki.retiredSignerKey } as Issued;
    const r = await verifyCms(osslSign(retired), {
      ...opts(),
      intermediates: [certFile(pki.retiredCa)],
      crls: [parseCrl(readFileSync(`${pki.crlDir}/retired-ca.crl`)), ...crls],
    });
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'REVOKED' });
    expect(r.checks.find((c) => c.id === 'path.revocation[1]')?.status).toBe('failed');
  });

  test('RFC 5280 §4.1.2.5 expired signer → EXPIRED', async () => {
    const old = ca.issue('555000000125_Expired', { fromDays: -400, toDays: -30 });
    expect(await verifyCms(osslSign(old), opts())).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'EXPIRED',
    });
  });

  test("revocation 'require' and no CRL → INDETERMINATE/TRY_LATER; 'if-available' → passes with a warning", async () => {
    const der = osslSign(good);
    expect(await verifyCms(der, { ...opts(), crls: [] })).toMatchObject({
      indication: 'INDETERMINATE',
      subIndication: 'TRY_LATER',
    });
    const soft = await verifyCms(der, { ...opts(), crls: [], revocation: 'if-available' });
    expect(soft.indication).toBe('TOTAL_PASSED');
    expect(
      soft.checks.some((c) => c.status === 'warning' && c.id.startsWith('path.revocation')),
    ).toBe(true);
  });

  test('CRLs fetched by distribution-point URL through fetchCrl', async () => {
    const seen: string[] = [];
    const ca2crl = ca.crl();
    const arl = readFileSync(`${pki.crlDir}/root.arl`);
    const fetchCrl = async (url: string) => (
      seen.push(url),
      url.endsWith('sign-ca.crl') ? ca2crl : url.endsWith('root.arl') ? arl : undefined
    );
    expect((await verifyCms(osslSign(good), { ...opts(), crls: [], fetchCrl })).indication).toBe(
      'TOTAL_PASSED',
    );
    expect(seen).toEqual(['http://crl.rxsign.test/sign-ca.crl', 'http://crl.rxsign.test/root.arl']);
  });

  test('SHA-1 digest → CRYPTO_CONSTRAINTS_FAILURE unless allowSha1', async () => {
    const der = opensslCmsSign(ca.file('s1.bin', content), [good], { md: 'sha1' });
    expect(await verifyCms(der, opts())).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'CRYPTO_CONSTRAINTS_FAILURE',
    });
    expect((await verifyCms(der, { ...opts(), allowSha1: true })).indication).toBe('TOTAL_PASSED');
  });

  test('RFC 5652 §5.3 no signed attributes → FORMAT_FAILURE', async () => {
    expect(await verifyCms(osslSign(good, { extra: ['-noattr'] }), opts())).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'FORMAT_FAILURE',
    });
  });

  test('two signers → FORMAT_FAILURE', async () => {
    const second = ca.issue('555000000126_Second');
    const der = opensslCmsSign(ca.file('two.bin', content), [good, second]);
    expect(await verifyCms(der, opts())).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'FORMAT_FAILURE',
    });
  });

  test('garbage, truncated, empty and oversized input → FORMAT_FAILURE, never a throw', async () => {
    const der = osslSign(good);
    for (const bad of [
      Buffer.from('garbage'),
      der.subarray(0, der.length - 7),
      new Uint8Array(0),
      Buffer.from('-----BEGIN CMS-----\n!!\n-----END CMS-----\n'),
      new Uint8Array(20 * 1024 * 1024 + 1),
    ]) {
      expect(await verifyCms(bad, opts())).toMatchObject({
        indication: 'TOTAL_FAILED',
        subIndication: 'FORMAT_FAILURE',
      });
    }
    expect(await verifyCms('x' as unknown as Uint8Array, opts())).toMatchObject({
      subIndication: 'FORMAT_FAILURE',
    });
  });
});

describe('verifyCms: rxsign CAdES output', () => {
  let identity: ReturnType<typeof createSigningIdentity>;
  beforeAll(() => {
    identity = createSigningIdentity(good.certDer);
  });

  test('round trip → TOTAL_PASSED with the signingTime of the attribute', async () => {
    const when = new Date(Date.now() - 3_600_000);
    when.setUTCMilliseconds(0);
    const r = await verifyCms(
      await signCades({ content, identity, signer: keySigner(good.keyPem), signingTime: when }),
      opts(),
    );
    expect(r).toMatchObject({ indication: 'TOTAL_PASSED', signingTime: when.toISOString() });
    expect(r.checks.find((c) => c.id === 'cms.signing-certificate-v2')?.status).toBe('passed');
  });

  test('signing time before the certificate → NOT_YET_VALID', async () => {
    const r = await verifyCms(
      await signCades({
        content,
        identity,
        signer: keySigner(good.keyPem),
        signingTime: new Date(Date.now() - 5 * 86_400_000),
      }),
      opts(),
    );
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'NOT_YET_VALID' });
  });

  test('RFC 5652 §11.1 content-type must equal eContentType', async () => {
    const der = Buffer.from(await signCades({ content, identity, signer: keySigner(good.keyPem) }));
    // Rewrite eContentType id-data (…07 01) to id-signedData (…07 02) in the encapContentInfo only:
    // the first id-data OID after the signedData OID is the eContentType.
    const idData = Buffer.from('06092a864886f70d010701', 'hex');
    const at = der.indexOf(idData, 20);
    der[at + idData.length - 1] = 0x02;
    expect(await verifyCms(der, opts())).toMatchObject({
      indication: 'TOTAL_FAILED',
      subIndication: 'FORMAT_FAILURE',
    });
    expect(
      (await verifyCms(der, opts())).checks.find((c) => c.id === 'cms.content-type')?.status,
    ).toBe('failed');
  });
});
