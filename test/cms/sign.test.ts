// CMS creation (src/cms/sign.ts) cross-checked with the openssl CLI, and against the captured Spine template.
// (OpenSSL 3.0's cms has no -untrusted: -certfile adds sign-ca to the untrusted pool instead.)
import { existsSync, readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import { beforeAll, describe, expect, test } from 'vitest';
import { pemToDer } from '../../src/cms/certificate.js';
import {
  createSigningIdentity,
  signCades,
  signChallenge,
  toPem,
  type SigningIdentity,
} from '../../src/cms/sign.js';
import { verifyChallengeCms } from '../../src/cms/verify.js';
import { TempCa, keySigner, openssl, pki, type Issued } from './fixtures.js';

let ca: TempCa;
let user: Issued;
let identity: SigningIdentity;
const content = Buffer.from('prescription bytes \u00e9 \u0000 end', 'utf8');

beforeAll(() => {
  ca = new TempCa('sign-ca');
  user = ca.issue('555000000777_Test_Signer');
  identity = createSigningIdentity(user.certDer, [
    pemToDer(readFileSync(pki.signCa, 'utf8'), ['CERTIFICATE']),
  ]);
});

/**
 * `openssl cms -verify` of a file (DER unless `pem`) against the test PKI (root, sign-ca), or with `noverify`
 * the signature only; `content` is the detached content. Returns the content openssl prints.
 */
function opensslVerify(
  file: string,
  o: { pem?: boolean; content?: string; noverify?: boolean } = {},
): Buffer {
  return openssl([
    ...['cms', '-verify', '-inform', o.pem === true ? 'PEM' : 'DER', '-in', file],
    ...(o.content === undefined ? [] : ['-binary', '-content', o.content]),
    ...(o.noverify === true
      ? ['-noverify']
      : ['-CAfile', pki.root, '-certfile', pki.signCa, '-purpose', 'any']),
  ]);
}

describe('CAdES-BES output (ETSI EN 319 122-1 §5.2) accepted by openssl cms -verify', () => {
  test('RFC 5652 §5 attached, DER', async () => {
    const der = await signCades({ content, identity, signer: keySigner(user.keyPem) });
    const f = ca.file('att.der', der);
    const out = opensslVerify(f);
    expect(out.equals(content)).toBe(true);
  });

  test('X.690 §8.1.3 definite lengths at every size boundary: minimal DER, openssl verifies', async () => {
    for (const size of [1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000]) {
      const body = Buffer.alloc(size, size & 0xff);
      const der = await signCades({ content: body, identity, signer: keySigner(user.keyPem) });
      // asn1js re-encodes with minimal definite lengths: the same bytes back means ours were minimal too.
      const parsed = asn1js.fromBER(der);
      expect(parsed.offset).toBe(der.length);
      expect(Buffer.from(parsed.result.toBER()).equals(Buffer.from(der))).toBe(true);
      if (size === 0x100 || size === 0x10000) {
        const f = ca.file(`len-${size}.der`, der);
        const out = opensslVerify(f);
        expect(out.equals(body)).toBe(true);
      }
    }
  });

  test('RFC 5652 §5 detached with -content, PEM (RFC 7468 §9 "CMS" label)', async () => {
    const der = await signCades({
      content,
      identity,
      signer: keySigner(user.keyPem),
      detached: true,
    });
    const pem = toPem(der);
    expect(pem.startsWith('-----BEGIN CMS-----\n')).toBe(true);
    const f = ca.file('det.pem', pem);
    const c = ca.file('content.bin', content);
    const out = opensslVerify(f, { pem: true, content: c });
    expect(out.equals(content)).toBe(true);
    // A different content must fail: the test is able to fail.
    const other = ca.file('other.bin', Buffer.from('something else'));
    expect(() => opensslVerify(f, { pem: true, content: other })).toThrow();
  });

  test('RFC 5652 §5.3/§11 and RFC 5035: the signed attributes and SignerInfo fields', async () => {
    const when = new Date('2026-03-04T05:06:07Z');
    const der = await signCades({
      content,
      identity,
      signer: keySigner(user.keyPem),
      signingTime: when,
    });
    const text = openssl([
      'cms',
      '-cmsout',
      '-print',
      '-inform',
      'DER',
      '-in',
      ca.file('p.der', der),
    ]).toString();
    expect(text).toMatch(
      /object: contentType \(1\.2\.840\.113549\.1\.9\.3\)[\s\S]*?OBJECT:pkcs7-data/,
    );
    expect(text).toMatch(/object: messageDigest \(1\.2\.840\.113549\.1\.9\.4\)/);
    expect(text).toMatch(
      /object: signingTime \(1\.2\.840\.113549\.1\.9\.5\)[\s\S]*?UTCTIME:Mar\s+4 05:06:07 2026 GMT/,
    );
    expect(text).toMatch(
      /object: id-smime-aa-signingCertificateV2 \(1\.2\.840\.113549\.1\.9\.16\.2\.47\)/,
    );
    expect(text).toMatch(/digestAlgorithm:\s+algorithm: sha256/);
    expect(text).toMatch(/signatureAlgorithm:\s+algorithm: rsaEncryption/);
    // Two certificates: the signer and sign-ca.
    expect(text.match(/cert_info:/g)?.length).toBe(2);
  });

  test('ERR_CMS_SIGNER_FAILED when the card returns a signature by another key', async () => {
    const other = ca.issue('555000000778_Other');
    await expect(
      signCades({ content, identity, signer: keySigner(other.keyPem) }),
    ).rejects.toMatchObject({
      code: 'ERR_CMS_SIGNER_FAILED',
      message: 'the signing device did not return a signature',
    });
    await expect(
      signCades({ content, identity, signer: async () => new Uint8Array(3) }),
    ).rejects.toMatchObject({ code: 'ERR_CMS_SIGNER_FAILED' });
    await expect(
      signCades({ content, identity, signer: async () => Promise.reject(new Error('card gone')) }),
    ).rejects.toMatchObject({ code: 'ERR_CMS_SIGNER_FAILED' });
  });

  test('an identity not made by createSigningIdentity is rejected', async () => {
    const fake = { certificate: identity.certificate, chain: [] } as unknown as SigningIdentity;
    await expect(
      signCades({ content, identity: fake, signer: keySigner(user.keyPem) }),
    ).rejects.toMatchObject({ code: 'ERR_CMS_BAD_INPUT' });
  });
});

describe('Spine login token (docs/protocol/cis-login.md §1.3)', () => {
  const challenge = Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef', 'ascii');

  test('accepted by openssl cms -verify -inform DER -noverify and by verifyChallengeCms', async () => {
    const der = await signChallenge({ challenge, identity, signer: keySigner(user.keyPem) });
    const out = opensslVerify(ca.file('ch.der', der), { noverify: true });
    expect(out.equals(challenge)).toBe(true);
    const res = verifyChallengeCms(der);
    expect(Buffer.from(res.content).equals(challenge)).toBe(true);
    expect(res.hash).toBe('SHA-1');
    expect(res.signerCertificate.serialHex).toBe(user.info.serialHex);
  });

  test('sha256 option', async () => {
    const der = await signChallenge({
      challenge,
      identity,
      signer: keySigner(user.keyPem),
      hash: 'SHA-256',
    });
    expect(verifyChallengeCms(der).hash).toBe('SHA-256');
    expect(opensslVerify(ca.file('ch2.der', der), { noverify: true }).equals(challenge)).toBe(true);
  });

  const template = `${process.env.RXSIGN_SPINE_VECTORS ?? `${import.meta.dirname}/../../../shared/vectors/spine`}/captured_cms_template.der`;
  test.skipIf(!existsSync(template))(
    'structurally equal to the captured template (needs ../shared/vectors)',
    async () => {
      const der = await signChallenge({ challenge, identity, signer: keySigner(user.keyPem) });
      // Compare the asn1parse skeleton (tags and depth), leaving out the certificate and value bytes.
      const skeleton = (d: Uint8Array): string[] => {
        const lines = openssl(['asn1parse', '-inform', 'DER'], d).toString().split('\n');
        const out: string[] = [];
        let skipDepth = -1;
        for (const l of lines) {
          const m = /d=(\d+)\s+hl=\d+\s+l=\s*\d+\s+(prim|cons):\s*(.*)$/.exec(l);
          if (m === null) {
            continue;
          }
          const depth = Number(m[1]);
          const what = (m[3] ?? '').replace(/:.*$/, '').trim();
          if (skipDepth >= 0 && depth > skipDepth) {
            continue;
          }
          skipDepth = -1;
          if (depth === 3 && what === 'cont [ 0 ]') {
            skipDepth = depth; // the certificates
          }
          if (depth === 5 && what === 'SEQUENCE' && out.at(-1)?.endsWith('INTEGER')) {
            skipDepth = depth; // the issuer name inside issuerAndSerialNumber
          }
          out.push(`${depth} ${m[2]} ${l.includes('OBJECT') ? l.replace(/^.*:/, '') : what}`);
        }
        return out;
      };
      expect(skeleton(der)).toEqual(skeleton(readFileSync(template)));
    },
  );
});
