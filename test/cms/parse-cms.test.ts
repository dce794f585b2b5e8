// parseSignedData (src/cms/parse-cms.ts): the strict walk over openssl-made CMS, and one negative test per
// structural rule on CMS re-assembled from the parts of a real one.
import { beforeAll, describe, expect, test } from 'vitest';
import { tlv } from '../../src/cms/der.js';
import { childrenOf, encodingOf, readWhole } from '../../src/cms/der-reader.js';
import { parseSignedData } from '../../src/cms/parse-cms.js';
import { verifyCms } from '../../src/cms/verify.js';
import { TempCa, opensslCmsSign, type Issued } from './fixtures.js';

let ca: TempCa;
let good: Issued;
const content = Buffer.from('the prescription\n');

function osslSign(extra: string[] = [], body: Uint8Array = content): Buffer {
  return opensslCmsSign(ca.file(`in-${Math.random()}.bin`, body), [good], { extra });
}

const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const b = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
/** BER indefinite-length form of a constructed element. */
const indefinite = (tag: number, ...parts: Uint8Array[]): Uint8Array =>
  cat(Uint8Array.of(tag, 0x80), ...parts, Uint8Array.of(0, 0));
const SIGNED_DATA_OID = b('06092a864886f70d010702');

/** The parts of a DER SignedData, to put together again with one part changed. */
interface Parts {
  version: Uint8Array;
  digestAlgorithms: Uint8Array;
  encap: Uint8Array;
  certificates: Uint8Array;
  signerInfo: Uint8Array[];
}

function partsOf(der: Uint8Array): Parts {
  const [, wrapped] = childrenOf(readWhole(der));
  const sd = childrenOf(wrapped ?? readWhole(der))[0];
  const f = childrenOf(sd ?? readWhole(der));
  const enc = (i: number): Uint8Array => Uint8Array.from(encodingOf(f[i] ?? readWhole(der)));
  const signer = childrenOf(childrenOf(f[4] ?? readWhole(der))[0] ?? readWhole(der));
  return {
    version: enc(0),
    digestAlgorithms: enc(1),
    encap: enc(2),
    certificates: enc(3),
    signerInfo: signer.map((n) => Uint8Array.from(encodingOf(n))),
  };
}

function assemble(p: Parts, o: { signerInfo?: Uint8Array; after?: Uint8Array } = {}): Uint8Array {
  const si = o.signerInfo ?? tlv(0x30, ...p.signerInfo);
  const sd = tlv(
    0x30,
    p.version,
    p.digestAlgorithms,
    p.encap,
    p.certificates,
    tlv(0x31, si),
    ...(o.after === undefined ? [] : [o.after]),
  );
  return tlv(0x30, SIGNED_DATA_OID, tlv(0xa0, sd));
}

const malformed = (der: Uint8Array): void => {
  expect(() => parseSignedData(der)).toThrow(
    expect.objectContaining({ code: 'ERR_CMS_MALFORMED' }),
  );
};

let parts: Parts;

beforeAll(() => {
  ca = new TempCa('sign-ca');
  good = ca.issue('555000000131_Parse_Signer');
  parts = partsOf(osslSign());
});

describe('RFC 5652 §5 openssl cms -sign output', () => {
  test('DER: one signer, the content, the certificate, signed attributes re-tagged as SET (§5.4)', () => {
    const der = osslSign();
    const cms = parseSignedData(der);
    expect(cms.version).toBe(1);
    expect(cms.eContentType).toBe('1.2.840.113549.1.7.1');
    expect(Buffer.from(cms.eContent ?? []).equals(content)).toBe(true);
    expect(cms.certificates.map((c) => c.serialHex)).toEqual([good.info.serialHex]);
    const [signer] = cms.signers;
    expect(signer?.sid).toMatchObject({ kind: 'issuerSerial', serialHex: good.info.serialHex });
    const attrs = signer?.signedAttrsDer ?? new Uint8Array();
    expect(attrs[0]).toBe(0x31);
    // The rest is the [0] IMPLICIT element exactly as received.
    const at = Buffer.from(der).indexOf(Buffer.from(attrs.subarray(1, 40)));
    expect(der[at - 1]).toBe(0xa0);
    expect(signer?.signedAttrs?.map((a) => a.type)).toContain('1.2.840.113549.1.9.4');
  });

  test('X.690 §8.1.3.6 BER from -stream: indefinite lengths and a segmented eContent', async () => {
    const big = Buffer.alloc(5000, 'rx');
    const ber = osslSign(['-stream'], big);
    expect(ber[1]).toBe(0x80);
    expect(Buffer.from(parseSignedData(ber).eContent ?? []).equals(big)).toBe(true);
    const r = await verifyCms(ber, { anchors: [good.info], revocation: 'off' });
    expect(r.indication).toBe('TOTAL_PASSED');
  });

  test('RFC 5652 §5.3 -keyid: version 3 with subjectKeyIdentifier', () => {
    const [signer] = parseSignedData(osslSign(['-keyid'])).signers;
    expect(signer).toMatchObject({
      version: 3,
      sid: { kind: 'skid', keyId: good.info.subjectKeyId },
    });
  });

  test('the re-assembled CMS parses (the negative tests below change one part each)', () => {
    expect(parseSignedData(assemble(parts)).signers).toHaveLength(1);
  });
});

describe('RFC 5652 structure rules → ERR_CMS_MALFORMED', () => {
  test('X.690 §10.2 a byte after the ContentInfo', () => {
    malformed(cat(assemble(parts), b('00')));
  });

  test('RFC 5652 §3 a contentType other than id-signedData', () => {
    const der = assemble(parts);
    der[14] = 0x01; // …07 02 → …07 01 (id-data)
    malformed(der);
  });

  test('RFC 5652 §5.1 SignedData version 2', () => {
    malformed(assemble({ ...parts, version: b('020102') }));
  });

  test('RFC 5652 §5.1 a field after signerInfos', () => {
    malformed(assemble(parts, { after: b('0500') }));
  });

  test('RFC 5652 §10.2.2 a CertificateChoices other than Certificate ([1] attribute certificate)', () => {
    const certs = readWhole(parts.certificates);
    const inner = Uint8Array.from(encodingOf(childrenOf(certs)[0] ?? certs));
    inner[0] = 0xa1;
    malformed(assemble({ ...parts, certificates: tlv(0xa0, inner) }));
  });

  test('RFC 5652 §5.3 SignerInfo version 3 with issuerAndSerialNumber', () => {
    const [, ...rest] = parts.signerInfo;
    malformed(assemble(parts, { signerInfo: tlv(0x30, b('020103'), ...rest) }));
  });

  test('RFC 5652 §5.3 SignerInfo in the indefinite form', () => {
    malformed(assemble(parts, { signerInfo: indefinite(0x30, ...parts.signerInfo) }));
  });

  test('RFC 5652 §5.3 signed attributes must be DER: an indefinite length inside', () => {
    const [version, sid, digest, signed, ...rest] = parts.signerInfo;
    const attrs = childrenOf(readWhole(signed ?? b('a000'))).map((n) =>
      Uint8Array.from(encodingOf(n)),
    );
    const [first, ...others] = attrs;
    const berFirst = indefinite(
      0x30,
      ...childrenOf(readWhole(first ?? b('3000'))).map((n) => encodingOf(n)),
    );
    const si = tlv(
      0x30,
      version ?? b(''),
      sid ?? b(''),
      digest ?? b(''),
      tlv(0xa0, berFirst, ...others),
      ...rest,
    );
    malformed(assemble(parts, { signerInfo: si }));
  });

  test('RFC 5652 §5.3 an Attribute that is not SEQUENCE { OID, SET }', () => {
    const [version, sid, digest, , ...rest] = parts.signerInfo;
    const si = tlv(
      0x30,
      version ?? b(''),
      sid ?? b(''),
      digest ?? b(''),
      tlv(0xa0, tlv(0x30, b('0500'))),
      ...rest,
    );
    malformed(assemble(parts, { signerInfo: si }));
  });

  test('RFC 5280 §4.1.1.2 an AlgorithmIdentifier with two parameters', () => {
    const [version, sid, , ...rest] = parts.signerInfo;
    const digest = tlv(0x30, b('0609608648016503040201'), b('0500'), b('0500'));
    malformed(
      assemble(parts, { signerInfo: tlv(0x30, version ?? b(''), sid ?? b(''), digest, ...rest) }),
    );
  });

  test('RFC 5652 §5.1 digestAlgorithms in the indefinite form', () => {
    const set = readWhole(parts.digestAlgorithms);
    malformed(
      assemble({
        ...parts,
        digestAlgorithms: indefinite(0x31, ...childrenOf(set).map((n) => encodingOf(n))),
      }),
    );
  });

  test('RFC 5652 §5.2 eContent of nested constructed OCTET STRINGs', () => {
    const nested = indefinite(0x24, indefinite(0x24, tlv(0x04, content)));
    const encap = tlv(0x30, b('06092a864886f70d010701'), tlv(0xa0, nested));
    malformed(assemble({ ...parts, encap }));
    // One level of primitive segments is BER's constructed OCTET STRING (X.690 §8.7.3) and is read.
    const segmented = tlv(
      0x30,
      b('06092a864886f70d010701'),
      tlv(
        0xa0,
        indefinite(0x24, tlv(0x04, content.subarray(0, 5)), tlv(0x04, content.subarray(5))),
      ),
    );
    expect(
      Buffer.from(parseSignedData(assemble({ ...parts, encap: segmented })).eContent ?? []).equals(
        content,
      ),
    ).toBe(true);
  });

  test('RFC 5652 §5.2 more than 65,536 eContent segments', () => {
    const encap = (n: number) =>
      tlv(
        0x30,
        b('06092a864886f70d010701'),
        tlv(0xa0, tlv(0x24, Buffer.alloc(3 * n, b('040161')))),
      );
    expect(parseSignedData(assemble({ ...parts, encap: encap(65_536) })).eContent).toHaveLength(
      65_536,
    );
    malformed(assemble({ ...parts, encap: encap(65_537) }));
  });

  test('a truncated or empty input, and a lone PEM header', () => {
    const der = assemble(parts);
    malformed(der.subarray(0, der.length - 1));
    malformed(new Uint8Array(0));
    malformed(Buffer.from('-----BEGIN CMS-----\n-----END CMS-----\n'));
  });

  test('an embedded certificate that does not parse → ERR_CERT_MALFORMED', () => {
    const broken = tlv(0xa0, tlv(0x30, b('020101')));
    expect(() => parseSignedData(assemble({ ...parts, certificates: broken }))).toThrow(
      expect.objectContaining({ code: 'ERR_CERT_MALFORMED' }),
    );
  });
});
