// EPS digest handling (docs/protocol/eps-signing.md §1.5, §1.6, §3.3, §6): strict decoding, algorithm allowlist, the exact
// XML-DSig Signature, the Provenance entry; and the certificate policy on the test PKI's certificates.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseCertificate, pemBlocks } from '../../src/cms/certificate.js';
import { buildSignedInfo } from '../../src/prescription/signed-info.js';
import {
  checkCertificateUsage,
  decodeEpsPayload,
  parseEpsAlgorithm,
  provenanceEntry,
  xmlDsigSignature,
} from '../../src/signing/index.js';
import { pkiPaths } from '../helpers/softhsm.js';

const si256 = buildSignedInfo(new TextEncoder().encode('<Fragment></Fragment>'), 'RS256');
const b64 = Buffer.from(si256).toString('base64');

describe('§1.5/§6 decoding the $prepare digest', () => {
  test('decodes to exactly the received bytes (no re-serialisation)', () => {
    expect(Buffer.from(decodeEpsPayload(b64, 'RS256')).equals(Buffer.from(si256))).toBe(true);
  });
  test.each([
    ['not base64', '***'],
    ['whitespace', `${b64.slice(0, 8)}\n${b64.slice(8)}`],
    ['non-canonical pad bits', 'PFNpZ25lZEluZm8+PC9TaWduZWRJbmZvPh=='],
    ['not a SignedInfo', Buffer.from('<x/>').toString('base64')],
    ['not UTF-8', Buffer.from([0x3c, 0xff, 0xfe]).toString('base64')],
    ['empty', ''],
  ])('%s → ERR_SIGN_BAD_PAYLOAD', (_n, input) => {
    expect(() => decodeEpsPayload(input, 'RS256')).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_BAD_PAYLOAD' }),
    );
  });
  const t256 = Buffer.from(si256).toString('utf8');
  const dv = /<DigestValue>([^<]*)<\/DigestValue>/.exec(t256)?.[1] ?? '';
  const enc = (t: string): string => Buffer.from(t, 'utf8').toString('base64');
  test.each([
    ['start and end tags only', '<SignedInfo>anything</SignedInfo>'],
    ['an empty SignedInfo', '<SignedInfo></SignedInfo>'],
    ['no xmldsig namespace', t256.replace(' xmlns="http://www.w3.org/2000/09/xmldsig#"', '')],
    ['a ds: prefix', t256.replace(/<(\/?)([A-Z])/g, '<$1ds:$2').replace('xmlns=', 'xmlns:ds=')],
    ['two References', t256.replace(/(<Reference>.*<\/Reference>)/, '$1$1')],
    ['a Reference URI', t256.replace('<Reference>', '<Reference URI="#x">')],
    ['an Id attribute', t256.replace('<SignedInfo ', '<SignedInfo Id="s" ')],
    [
      'a second Transform',
      t256.replace(
        '</Transforms>',
        `<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms>`,
      ),
    ],
    ['a comment', t256.replace('<Reference>', '<!-- x --><Reference>')],
    ['whitespace between elements', t256.replace('<Reference>', '\n<Reference>')],
    ['extra text', t256.replace('</Reference>', '</Reference>text')],
    ['an extra element', t256.replace('</Reference>', '</Reference><Object></Object>')],
    ['a DigestValue of the wrong length', t256.replace(dv, dv.slice(4))],
    ['a DigestValue that is not base64', t256.replace(dv, `${'!'.repeat(43)}=`)],
    ['a DigestValue with markup', t256.replace(dv, `<x></x>${dv}`)],
    ['a DOCTYPE', `<!DOCTYPE SignedInfo>${t256}`],
    ['an XML declaration', `<?xml version="1.0"?>${t256}`],
    ['not XML', `${t256}<`],
  ])('a payload with %s → ERR_SIGN_BAD_PAYLOAD', (_n, text) => {
    expect(() => decodeEpsPayload(enc(text), 'RS256')).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_BAD_PAYLOAD' }),
    );
  });
  test.each([
    ['inclusive C14N', t256.replaceAll('xml-exc-c14n#', 'REC-xml-c14n-20010315')],
    [
      'sha1 digest with rsa-sha256',
      t256.replace(
        'http://www.w3.org/2001/04/xmlenc#sha256',
        'http://www.w3.org/2000/09/xmldsig#sha1',
      ),
    ],
    ['rsa-sha512', t256.replace('xmldsig-more#rsa-sha256', 'xmldsig-more#rsa-sha512')],
  ])('a payload with %s → ERR_SIGN_ALGORITHM_UNSUPPORTED', (_n, text) => {
    expect(() => decodeEpsPayload(enc(text), 'RS256')).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_ALGORITHM_UNSUPPORTED' }),
    );
  });
  test('the RS1 template is accepted for RS1', () => {
    const si1 = buildSignedInfo(new TextEncoder().encode('<Fragment></Fragment>'), 'RS1');
    expect(Buffer.from(decodeEpsPayload(Buffer.from(si1).toString('base64'), 'RS1'))).toEqual(
      Buffer.from(si1),
    );
  });
  test('SignatureMethod contradicting the requested algorithm → ERR_SIGN_ALGORITHM_UNSUPPORTED', () => {
    expect(() => decodeEpsPayload(b64, 'RS1')).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_ALGORITHM_UNSUPPORTED' }),
    );
  });
  test.each(['RS512', 'rs256', 'PS256', '', undefined])('algorithm %s is refused', (alg) => {
    expect(() => parseEpsAlgorithm(alg)).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_ALGORITHM_UNSUPPORTED' }),
    );
  });
});

describe('§1.6 Signature and §3.3 Provenance', () => {
  test('the Signature template, byte for byte', () => {
    expect(xmlDsigSignature(si256, 'U0lH', 'Q0VSVA==')).toBe(
      `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">${Buffer.from(si256).toString('utf8')}<SignatureValue>U0lH</SignatureValue><KeyInfo><X509Data><X509Certificate>Q0VSVA==</X509Certificate></X509Data></KeyInfo></Signature>`,
    );
  });
  test('Provenance: when = timestamp, who = first requester, targets = MedicationRequests, data = base64 Signature', () => {
    const bundle = {
      entry: [
        { fullUrl: 'urn:uuid:mh', resource: { resourceType: 'MessageHeader' } },
        {
          fullUrl: 'urn:uuid:mr1',
          resource: { resourceType: 'MedicationRequest', requester: { reference: 'urn:uuid:pr' } },
        },
        {
          fullUrl: 'urn:uuid:mr2',
          resource: { resourceType: 'MedicationRequest', requester: { reference: 'urn:uuid:pr' } },
        },
      ],
    };
    const p = provenanceEntry({
      bundle,
      signatureXml: '<Signature/>',
      timestamp: '2024-12-09T11:50:04+00:00',
      uuid: 'u1',
      recorded: new Date(0),
    });
    expect(p).toEqual({
      fullUrl: 'urn:uuid:u1',
      resource: {
        resourceType: 'Provenance',
        id: 'u1',
        target: [{ reference: 'urn:uuid:mr1' }, { reference: 'urn:uuid:mr2' }],
        recorded: '1970-01-01T00:00:00.000Z',
        agent: [{ who: { reference: 'urn:uuid:pr' } }],
        signature: [
          {
            type: [{ system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.1' }],
            when: '2024-12-09T11:50:04+00:00',
            who: { reference: 'urn:uuid:pr' },
            data: Buffer.from('<Signature/>').toString('base64'),
          },
        ],
      },
    });
  });
});

describe('§6 certificate policy (test PKI certificates)', () => {
  const cert = (label: string, kind: 'auth' | 'sign') =>
    parseCertificate(
      pemBlocks(readFileSync(pkiPaths().cardCert(label, kind), 'latin1'), ['CERTIFICATE'])[0] ??
        new Uint8Array(),
    );
  test('the prescriber signing certificate is usable now', () => {
    expect(() => checkCertificateUsage(cert('prescriber', 'sign'), new Date())).not.toThrow();
  });
  test('an authentication certificate is not a non-repudiation certificate', () => {
    expect(() => checkCertificateUsage(cert('prescriber', 'auth'), new Date())).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_CERT_NOT_NON_REPUDIATION' }),
    );
  });
  test('expired and PKUP-ended certificates are refused', () => {
    expect(() => checkCertificateUsage(cert('expired', 'sign'), new Date())).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_CERT_EXPIRED' }),
    );
    expect(() => checkCertificateUsage(cert('pkup-ended', 'sign'), new Date())).toThrow(
      expect.objectContaining({ code: 'ERR_SIGN_PKUP_OUTSIDE' }),
    );
  });
  test('before notBefore → not yet valid', () => {
    expect(() =>
      checkCertificateUsage(cert('prescriber', 'sign'), new Date('2001-01-01T00:00:00Z')),
    ).toThrow(expect.objectContaining({ code: 'ERR_SIGN_CERT_NOT_YET_VALID' }));
  });
});
