import { X509Certificate, verify } from 'node:crypto';

import { describe, expect, test } from 'vitest';

import {
  fragmentsFromDocument,
  signatureOfPrescription,
} from '../../src/prescription/fragments.js';
import {
  buildSignedInfo,
  canonicalSignedInfoFromSignature,
  digestValue,
  parseSignedInfoAlgorithm,
} from '../../src/prescription/signed-info.js';
import { parseXml } from '../../src/prescription/xml.js';
import { ELEMENT, type XmlDocument, type XmlElement } from '../../src/prescription/xml-tree.js';
import { HAVE_VECTORS, SKIP_REASON, vector } from './vectors.js';

const TEMPLATES = {
  RS256:
    '<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></SignatureMethod><Reference><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></DigestMethod><DigestValue>{D}</DigestValue></Reference></SignedInfo>',
  RS1: '<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"></SignatureMethod><Reference><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></DigestMethod><DigestValue>{D}</DigestValue></Reference></SignedInfo>',
} as const;

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const fragments = new TextEncoder().encode('<FragmentsToBeHashed></FragmentsToBeHashed>');

describe('§1.4 SignedInfo template', () => {
  test.each(['RS256', 'RS1'] as const)(
    '%s: exact template bytes with base64 digest of the fragments',
    (alg) => {
      const d = digestValue(fragments, alg);
      expect(Buffer.from(d, 'base64').length).toBe(alg === 'RS256' ? 32 : 20);
      expect(text(buildSignedInfo(fragments, alg))).toBe(TEMPLATES[alg].replace('{D}', d));
    },
  );

  test('rejects an algorithm outside the allowlist before hashing', () => {
    expect(() => buildSignedInfo(fragments, 'RS512' as 'RS256')).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED' }),
    );
  });

  test('§2.3 a built SignedInfo wrapped in a Signature round-trips through canonicalSignedInfoFromSignature', () => {
    for (const alg of ['RS256', 'RS1'] as const) {
      const built = text(buildSignedInfo(fragments, alg));
      const withoutXmlns = built.replace(' xmlns="http://www.w3.org/2000/09/xmldsig#"', '');
      const pretty = withoutXmlns.replace(/></g, '>\n  <');
      const doc = parseXml(
        `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">${pretty}<SignatureValue/></Signature>`,
      );
      const signature = doc.root;
      expect(text(canonicalSignedInfoFromSignature(signature))).toBe(built);
      expect(parseSignedInfoAlgorithm(signature)).toMatchObject({
        algorithm: alg,
        hash: alg === 'RS256' ? 'sha256' : 'sha1',
      });
    }
  });
});

describe('§2.3 received SignedInfo rules', () => {
  const signed = (
    signedInfo: string,
    signatureAttrs = ' xmlns="http://www.w3.org/2000/09/xmldsig#"',
  ): XmlElement => parseXml(`<Signature${signatureAttrs}>${signedInfo}</Signature>`).root;
  const good = TEMPLATES.RS256.replace('{D}', digestValue(fragments, 'RS256'));

  test('attributes of SignedInfo are replaced by the xmlns of Signature (EPS), so an Id does not survive', () => {
    const withId = good.replace(
      '<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">',
      '<SignedInfo Id="x">',
    );
    expect(text(canonicalSignedInfoFromSignature(signed(withId)))).toBe(good);
  });

  test('an attribute inside SignedInfo (Reference URI="") breaks the byte comparison', () => {
    const withUri = good.replace('<Reference>', '<Reference URI="">');
    expect(text(canonicalSignedInfoFromSignature(signed(withUri)))).not.toBe(good);
  });

  test('a ds: prefixed Signature does not canonicalise to the EPS template', () => {
    const prefixed = good
      .replace(' xmlns="http://www.w3.org/2000/09/xmldsig#"', '')
      .replace(/<(\/?)([A-Z])/g, '<$1ds:$2');
    const ds = parseXml(
      `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${prefixed}</ds:Signature>`,
    ).root;
    expect(text(canonicalSignedInfoFromSignature(ds))).not.toBe(good);
  });

  test('rejects a second SignedInfo (CVE-2025-29774)', () => {
    expect(() => canonicalSignedInfoFromSignature(signed(good + good))).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNED_INFO_MALFORMED' }),
    );
  });

  test('rejects a comment inside DigestValue (CVE-2025-29775)', () => {
    const commented = good.replace('<DigestValue>', '<DigestValue><!-- x -->');
    expect(() => parseSignedInfoAlgorithm(signed(commented))).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNED_INFO_MALFORMED' }),
    );
  });

  test('rejects a mixed pair (sha256 digest with rsa-sha1) and an unknown algorithm', () => {
    const mixed = good.replace(
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    );
    const unknown = good.replace('rsa-sha256', 'rsa-sha224');
    for (const si of [mixed, unknown]) {
      expect(() => parseSignedInfoAlgorithm(signed(si))).toThrow(
        expect.objectContaining({ code: 'ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED' }),
      );
    }
  });

  test('rejects a CanonicalizationMethod other than exc-c14n', () => {
    const inclusive = good.replace(
      '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">',
      '<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315">',
    );
    expect(() => canonicalSignedInfoFromSignature(signed(inclusive))).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNED_INFO_ALGORITHM_UNSUPPORTED' }),
    );
  });

  test('rejects a DigestValue that is not strict base64', () => {
    const bad = good.replace(/<DigestValue>[^<]*</, '<DigestValue>abc$<');
    expect(() => parseSignedInfoAlgorithm(signed(bad))).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNED_INFO_MALFORMED' }),
    );
  });
});

describe.skipIf(!HAVE_VECTORS)(
  `§4 HL7 v3 signed prescriptions ${HAVE_VECTORS ? '' : SKIP_REASON}`,
  () => {
    const load = (file: string): { doc: XmlDocument; signature: XmlElement } => {
      const doc = parseXml(vector('hl7v3', file));
      return { doc, signature: signatureOfPrescription(doc) };
    };
    const rebuilt = (doc: XmlDocument, signature: XmlElement): Uint8Array =>
      buildSignedInfo(fragmentsFromDocument(doc), parseSignedInfoAlgorithm(signature).algorithm);

    test.each([
      ['ValidSignature.xml', 'RS1', 'm/VBo4VL+8VkPnjOeOEnfbJIvdM='],
      ['SignatureAlgorithmSha256.UNWRAPPED-derived.xml', 'RS256', undefined],
    ] as const)(
      '%s: DigestValue recomputed, SignedInfo matches byte for byte',
      (file, alg, expected) => {
        const { doc, signature } = load(file);
        const declared = parseSignedInfoAlgorithm(signature);
        expect(declared.algorithm).toBe(alg);
        if (expected !== undefined) {
          expect(declared.digestValue).toBe(expected);
        }
        expect(digestValue(fragmentsFromDocument(doc), alg)).toBe(declared.digestValue);
        expect(text(canonicalSignedInfoFromSignature(signature))).toBe(
          text(rebuilt(doc, signature)),
        );
      },
    );

    test('SignatureAlgorithmSha256.xml (formatter-wrapped text) does not match, as INDEX.md §1 observes', () => {
      const { doc, signature } = load('SignatureAlgorithmSha256.xml');
      expect(digestValue(fragmentsFromDocument(doc), 'RS256')).not.toBe(
        parseSignedInfoAlgorithm(signature).digestValue,
      );
    });

    test('SignatureDoesNotMatchPrescription.xml does NOT match', () => {
      const { doc, signature } = load('SignatureDoesNotMatchPrescription.xml');
      const declared = parseSignedInfoAlgorithm(signature);
      expect(digestValue(fragmentsFromDocument(doc), declared.algorithm)).not.toBe(
        declared.digestValue,
      );
      expect(text(canonicalSignedInfoFromSignature(signature))).not.toBe(
        text(rebuilt(doc, signature)),
      );
    });

    test.each([
      ['ValidSignature.xml', true],
      ['SignatureAlgorithmSha256.UNWRAPPED-derived.xml', true],
      ['SignatureIsInvalid.xml', false],
      ['SignatureDoesNotMatchPrescription.xml', false],
      ['DSS-846-real-INT-signed-noncanonical-SignedInfo.xml', false],
    ] as const)(
      '§2.4 RSA over the canonical SignedInfo of %s with the embedded certificate: %s',
      (file, valid) => {
        const { signature } = load(file);
        const textOf = (name: string): string => {
          const find = (e: XmlElement): XmlElement | undefined =>
            e.localName === name
              ? e
              : e.children.reduce<XmlElement | undefined>(
                  (hit, c) => hit ?? (c.type === ELEMENT ? find(c) : undefined),
                  undefined,
                );
          const el = find(signature);
          return (el?.children ?? [])
            .map((c) => (c.type === ELEMENT ? '' : c.value))
            .join('')
            .replace(/\s+/g, '');
        };
        const certificate = new X509Certificate(Buffer.from(textOf('X509Certificate'), 'base64'));
        const { hash } = parseSignedInfoAlgorithm(signature);
        const ok = verify(
          hash,
          canonicalSignedInfoFromSignature(signature),
          certificate.publicKey,
          Buffer.from(textOf('SignatureValue'), 'base64'),
        );
        expect(ok).toBe(valid);
      },
    );

    test('DSS-846: digest matches; the vendor signed the non-canonical text, so RSA fails over the canonical form', () => {
      const { doc, signature } = load('DSS-846-real-INT-signed-noncanonical-SignedInfo.xml');
      expect(text(canonicalSignedInfoFromSignature(signature))).toBe(text(rebuilt(doc, signature)));
    });
  },
);
