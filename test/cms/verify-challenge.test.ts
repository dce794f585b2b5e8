// The Spine login token (docs/protocol/cis-login.md §1.3): verifyChallengeCms against the public captured template
// (read in place from ../shared/vectors/spine beside the clone or RXSIGN_SPINE_VECTORS; source: the
// nhos-project/nhos-nhs-identity-agent commit 6c360ea).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { verifyChallengeCms } from '../../src/cms/verify.js';

const vectors =
  process.env.RXSIGN_SPINE_VECTORS ?? `${import.meta.dirname}/../../../shared/vectors/spine`;
const haveVectors = existsSync(vectors);

describe.skipIf(!haveVectors)(
  'docs/protocol/cis-login.md §1.3 captured login CMS (needs ../shared/vectors)',
  () => {
    const der = (): Uint8Array => readFileSync(`${vectors}/captured_cms_template.der`);

    test('accepts the captured template and returns the 48 eContent bytes', () => {
      const res = verifyChallengeCms(der());
      expect(res.hash).toBe('SHA-1');
      expect(
        Buffer.from(res.content).equals(readFileSync(`${vectors}/captured_econtent.bin`)),
      ).toBe(true);
      expect(res.content.length).toBe(48);
      expect(res.signerCertificate.subjectCN).toBe('102048843983');
      expect(res.signerCertificate.issuer).toBe('CN=SubCA02,OU=CA,O=nhs');
      expect(res.signerCertificate.publicKey).toMatchObject({ algorithm: 'RSA', bits: 1024 });
      expect(
        Buffer.from(res.signerCertificate.der).equals(
          readFileSync(`${vectors}/captured_user_cert.der`),
        ),
      ).toBe(true);
    });

    test('RFC 5652 §5.6 a flipped signature bit → ERR_CMS_SIGNATURE_INVALID', () => {
      const bad = Uint8Array.from(der());
      bad[bad.length - 5] = (bad[bad.length - 5] ?? 0) ^ 0x01;
      expect(() => verifyChallengeCms(bad)).toThrow(
        expect.objectContaining({
          code: 'ERR_CMS_SIGNATURE_INVALID',
          message: 'signature verification failed',
        }),
      );
    });

    test('RFC 5652 §5.6 a changed challenge byte → ERR_CMS_SIGNATURE_INVALID', () => {
      const bad = Uint8Array.from(der());
      bad[60] = (bad[60] ?? 0) ^ 0xff; // inside the 48-byte eContent (offset 56..103)
      expect(() => verifyChallengeCms(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_CMS_SIGNATURE_INVALID' }),
      );
    });

    test('X.690 truncated or trailing bytes → ERR_CMS_MALFORMED', () => {
      const d = der();
      expect(() => verifyChallengeCms(d.subarray(0, d.length - 10))).toThrow(
        expect.objectContaining({ code: 'ERR_CMS_MALFORMED' }),
      );
      expect(() => verifyChallengeCms(Buffer.concat([d, Buffer.from([0])]))).toThrow(
        expect.objectContaining({ code: 'ERR_CMS_MALFORMED' }),
      );
    });
  },
);

describe('verifyChallengeCms input handling', () => {
  test('garbage → ERR_CMS_MALFORMED (a ServiceError, never a library error)', () => {
    for (const junk of [
      new Uint8Array(0),
      Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01]),
      Buffer.from('hello'),
    ]) {
      expect(() => verifyChallengeCms(junk)).toThrow(
        expect.objectContaining({ name: 'ServiceError', code: 'ERR_CMS_MALFORMED' }),
      );
    }
  });
});
