// docs/protocol/cis-login.md §1.3 step 5: the double-base64 `response` with an S/MIME header block.
import { describe, expect, test } from 'vitest';
import {
  buildAuthResponse,
  decodeAuthResponse,
  strictBase64Decode,
} from '../../../src/auth/wire/response.js';
import { haveVectors, noVectorsReason, vectorBytes } from './vectors.js';

const der = new Uint8Array([
  0x30,
  0x82,
  0x01,
  0x00,
  ...Array.from({ length: 200 }, (_, i) => i % 256),
]);
const inner = Buffer.from(der).toString('base64');
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

describe('§1.3 step 5 response encoding', () => {
  test('the PoC form is byte-for-byte the NHOS layout (8-space indents, single-line inner base64)', () => {
    const raw = Buffer.from(buildAuthResponse(der), 'base64').toString('utf8');
    expect(raw).toBe(
      'MIME-Version: 1.0\n        Content-Disposition: attachment; filename="smime.p7m"\n' +
        '        Content-Type: application/x-pkcs7-mime; name="smime.p7m"\n        Content-Transfer-Encoding: base64\n        \n        ' +
        inner,
    );
  });

  test('PoC and S/MIME forms decode back to the DER', () => {
    expect(decodeAuthResponse(buildAuthResponse(der, 'poc'))).toEqual(der);
    const smime = buildAuthResponse(der, 'smime');
    expect(Buffer.from(smime, 'base64').toString('utf8')).toMatch(/\n\n[A-Za-z0-9+/]{64}\n/);
    expect(decodeAuthResponse(smime)).toEqual(der);
  });

  test('CRLF line ends, wrapped outer base64 and wrapped inner base64 are accepted', () => {
    const raw = `MIME-Version: 1.0\r\nContent-Type: application/x-pkcs7-mime; name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\n${inner.replace(/(.{76})/g, '$1\r\n')}\r\n`;
    const wrappedOuter = b64(raw).replace(/(.{64})/g, '$1\n');
    expect(decodeAuthResponse(wrappedOuter)).toEqual(der);
  });

  test('no header block (base64 of base64) and a direct base64 DER are accepted', () => {
    expect(decodeAuthResponse(b64(inner))).toEqual(der);
    expect(decodeAuthResponse(inner)).toEqual(der);
  });

  test('rejects bad outer base64, a non-base64 transfer encoding, and an inner body that is not DER', () => {
    const bad = (v: string): void => {
      expect(() => decodeAuthResponse(v)).toThrow(
        expect.objectContaining({ code: 'ERR_WIRE_RESPONSE_MALFORMED' }),
      );
    };
    bad('@@@@');
    bad(b64(`Content-Transfer-Encoding: quoted-printable\n\n${inner}`));
    bad(b64(`MIME-Version: 1.0\n\n${b64('hello')}`));
    bad(b64(`MIME-Version: 1.0\nContent-Type: x`));
  });

  test('strict base64: alphabet, padding and canonical trailing bits', () => {
    expect(strictBase64Decode('TWE=')).toEqual(new Uint8Array([77, 97]));
    expect(strictBase64Decode('TWF=')).toBeUndefined();
    expect(strictBase64Decode('TW=E')).toBeUndefined();
    expect(strictBase64Decode('TWE')).toBeUndefined();
  });
});

describe.skipIf(!haveVectors)(
  `§1.3 captured CMS template${haveVectors ? '' : ` (skipped: ${noVectorsReason})`}`,
  () => {
    test('the captured login CMS survives the PoC encoding round trip', () => {
      const cms = vectorBytes('captured_cms_template.der');
      expect(decodeAuthResponse(buildAuthResponse(cms))).toEqual(cms);
    });
  },
);
