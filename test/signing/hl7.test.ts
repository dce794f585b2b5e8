// HL7 v3 signing without a card (src/signing/hl7.ts): author/time and the Signature are spliced into the
// document as written (docs/protocol/eps-signing.md §1.7–1.8), nothing else changes, and the self-check holds.
import { generateKeyPairSync, sign } from 'node:crypto';

import { describe, expect, test } from 'vitest';

import { buildFragmentsToBeHashed } from '../../src/prescription/fragments.js';
import { buildSignedInfo } from '../../src/prescription/signed-info.js';
import {
  checkSignedHl7,
  placeSignature,
  prepareHl7,
  xmlDsigSignature,
} from '../../src/signing/index.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HL7 = 'urn:hl7-org:v3';
const AT = new Date('2024-12-09T11:50:04.321Z');
const TS = '20241209115004';

const prescription = (author: string): string =>
  `<?xml version='1.0' encoding='UTF-8'?>\r\n<!-- kept -->\r\n<ParentPrescription xmlns="${HL7}">\r\n` +
  `  <recordTarget><Patient a = 'q"' b="&#10;"/></recordTarget>\r\n` +
  `  <pertinentInformation1><pertinentPrescription><id root="RX-1"/>${author}` +
  `<pertinentInformation2><pertinentLineItem><id root="L"/></pertinentLineItem></pertinentInformation2>` +
  `</pertinentPrescription></pertinentInformation1>\r\n</ParentPrescription>\r\n`;
const AUTHOR =
  '<author typeCode="AUT">\r\n    <time value="20200101000000"/>\r\n    <signatureText xmlns:x="urn:x" nullFlavor="NA" x:keep="1"/>\r\n    <AgentPerson/>\r\n  </author>';

function signed(xml: string): { out: string; signedInfo: Uint8Array; signature: Uint8Array } {
  const prepared = prepareHl7(xml, AT, 'RS256');
  const signature = sign('sha256', prepared.signedInfo, privateKey);
  const out = placeSignature(
    prepared,
    xmlDsigSignature(prepared.signedInfo, signature.toString('base64'), 'Q0VSVA=='),
  );
  return { out, signedInfo: prepared.signedInfo, signature };
}

describe('§1.7–1.8 HL7 v3 signing by splicing', () => {
  test('only author/time/@value and signatureText change; declaration, comments, quotes, references and CRLF stay', () => {
    const xml = prescription(AUTHOR);
    const { out } = signed(xml);
    const sig = /<signatureText[^>]*>(<Signature [\s\S]*<\/Signature>)<\/signatureText>/.exec(
      out,
    )?.[1];
    expect(sig).toBeDefined();
    const undone = out
      .replace(`<time value="${TS}"/>`, '<time value="20200101000000"/>')
      .replace(
        `<signatureText xmlns:x="urn:x" x:keep="1">${sig ?? ''}</signatureText>`,
        '<signatureText xmlns:x="urn:x" nullFlavor="NA" x:keep="1"/>',
      );
    expect(undone).toBe(xml);
  });

  test('the SignedInfo signed is the one rebuilt from the output, with author/time := the signing time', () => {
    const { out, signedInfo, signature } = signed(prescription(AUTHOR));
    expect(checkSignedHl7(out, signedInfo, 'RS256', publicKey, signature)).toBe(true);
    const expected = buildSignedInfo(
      buildFragmentsToBeHashed(prescription(AUTHOR), { authorTime: TS }),
      'RS256',
    );
    expect(Buffer.from(signedInfo).equals(Buffer.from(expected))).toBe(true);
    const tampered = out.replace('<id root="L"/>', '<id root="M"/>');
    expect(checkSignedHl7(tampered, signedInfo, 'RS256', publicKey, signature)).toBe(false);
  });

  test('a time without @value gets one; signing again replaces the Signature rather than adding one', () => {
    const xml = prescription(AUTHOR.replace('<time value="20200101000000"/>', '<time/>'));
    const first = signed(xml).out;
    expect(first).toContain(`<time value="${TS}"/>`);
    const again = signed(first);
    expect(again.out.match(/<Signature /g)).toHaveLength(1);
    expect(checkSignedHl7(again.out, again.signedInfo, 'RS256', publicKey, again.signature)).toBe(
      true,
    );
  });

  test('the input as UTF-8 bytes with a byte order mark gives the same document, without the mark', () => {
    const xml = prescription(AUTHOR);
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml, 'utf8')]);
    const prepared = prepareHl7(bytes, AT, 'RS256');
    expect(prepared.doc.source).toBe(xml);
    expect(prepared.prescriptionId).toBe('RX-1');
  });
});
