import { describe, expect, test } from 'vitest';

import { PRESCRIPTION_ERRORS, type PrescriptionErrorCode } from '../../src/prescription/errors.js';
import { buildFragmentsToBeHashed } from '../../src/prescription/fragments.js';
import { isoToHl7Timestamp } from '../../src/prescription/timestamp.js';
import { buildSignedInfo } from '../../src/prescription/signed-info.js';
import { HAVE_VECTORS, SKIP_REASON, prepareCases, prepareResponse, vector } from './vectors.js';

const rejects = (code: PrescriptionErrorCode, run: () => unknown): void => {
  expect(run).toThrow(
    expect.objectContaining({ code, message: PRESCRIPTION_ERRORS[code].message }),
  );
};
const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

const HL7 = 'urn:hl7-org:v3';
const prescription = (rx: string, extra = ''): string =>
  `<ParentPrescription xmlns="${HL7}"><recordTarget><Patient/></recordTarget>${extra}` +
  `<pertinentInformation1><pertinentPrescription>${rx}</pertinentPrescription></pertinentInformation1></ParentPrescription>`;
const RX_OK =
  '<id root="A"/><author><time value="20240101000000"/><AgentPerson/></author>' +
  '<pertinentInformation2><pertinentLineItem><id root="L"/></pertinentLineItem></pertinentInformation2>';

describe('§1.2 ParentPrescription selection and required parts', () => {
  test('a minimal prescription builds four fragments', () => {
    const out = utf8(buildFragmentsToBeHashed(prescription(RX_OK)));
    expect(out).toBe(
      '<FragmentsToBeHashed><Fragment><time xmlns="urn:hl7-org:v3" value="20240101000000"></time><id xmlns="urn:hl7-org:v3" root="A"></id></Fragment>' +
        '<Fragment><AgentPerson xmlns="urn:hl7-org:v3"></AgentPerson></Fragment>' +
        '<Fragment><recordTarget xmlns="urn:hl7-org:v3"><Patient></Patient></recordTarget></Fragment>' +
        '<Fragment><pertinentLineItem xmlns="urn:hl7-org:v3"><id root="L"></id></pertinentLineItem></Fragment></FragmentsToBeHashed>',
    );
  });

  test.each([
    [
      'a line item in the HL7 namespace inside a no-namespace prescription',
      `<ParentPrescription><recordTarget><Patient/></recordTarget><pertinentInformation1><pertinentPrescription>${RX_OK.replace(
        '<pertinentInformation2>',
        `<pertinentInformation2 xmlns="${HL7}"><pertinentLineItem><id root="MORPHINE"/></pertinentLineItem></pertinentInformation2><pertinentInformation2>`,
      )}</pertinentPrescription></pertinentInformation1></ParentPrescription>`,
    ],
    [
      'a second patient under a prefix bound to the HL7 namespace, in a no-namespace prescription',
      `<ParentPrescription><recordTarget><Patient/></recordTarget><h:recordTarget xmlns:h="${HL7}"><h:Patient/></h:recordTarget><pertinentInformation1><pertinentPrescription>${RX_OK}</pertinentPrescription></pertinentInformation1></ParentPrescription>`,
    ],
    [
      'a no-namespace line item inside an HL7 prescription',
      prescription(
        RX_OK +
          '<pertinentInformation2 xmlns=""><pertinentLineItem><id root="MORPHINE"/></pertinentLineItem></pertinentInformation2>',
      ),
    ],
  ])(
    '%s → ERR_PRESCRIPTION_MALFORMED (was hashed without it, a namespace-aware reader would see it)',
    (_name, xml) => {
      rejects('ERR_PRESCRIPTION_MALFORMED', () => buildFragmentsToBeHashed(xml));
    },
  );

  test('two ParentPrescriptions → ERR_PRESCRIPTION_AMBIGUOUS', () => {
    const two = `<Batch xmlns="${HL7}"><subject>${prescription(RX_OK)}</subject><subject>${prescription(RX_OK)}</subject></Batch>`;
    rejects('ERR_PRESCRIPTION_AMBIGUOUS', () => buildFragmentsToBeHashed(two));
  });

  test('none, or only one in a foreign namespace → ERR_PRESCRIPTION_NOT_FOUND', () => {
    rejects('ERR_PRESCRIPTION_NOT_FOUND', () =>
      buildFragmentsToBeHashed(`<Message xmlns="${HL7}"/>`),
    );
    rejects('ERR_PRESCRIPTION_NOT_FOUND', () =>
      buildFragmentsToBeHashed('<ParentPrescription xmlns="urn:other"/>'),
    );
  });

  test.each([
    ['author/time', RX_OK.replace('<time value="20240101000000"/>', '')],
    ['prescription id', RX_OK.replace('<id root="A"/>', '')],
    ['AgentPerson', RX_OK.replace('<AgentPerson/>', '')],
    ['line item', RX_OK.replace(/<pertinentInformation2>.*<\/pertinentInformation2>/, '')],
    ['a second author', RX_OK + '<author><time value="1"/><AgentPerson/></author>'],
  ])('missing or repeated %s → ERR_PRESCRIPTION_MALFORMED', (_name, rx) => {
    rejects('ERR_PRESCRIPTION_MALFORMED', () => buildFragmentsToBeHashed(prescription(rx)));
  });

  test('missing recordTarget → ERR_PRESCRIPTION_MALFORMED', () => {
    const xml = prescription(RX_OK).replace('<recordTarget><Patient/></recordTarget>', '');
    rejects('ERR_PRESCRIPTION_MALFORMED', () => buildFragmentsToBeHashed(xml));
  });

  test('an author time that is not an HL7 TS → ERR_PRESCRIPTION_TIMESTAMP_INVALID', () => {
    rejects('ERR_PRESCRIPTION_TIMESTAMP_INVALID', () =>
      buildFragmentsToBeHashed(prescription(RX_OK), { authorTime: '2024-01-01' }),
    );
  });
});

describe('§1.2 line-item edits and §1.3 serialisation', () => {
  test('pertinentInformation4 (item status) is dropped; repeatNumber keeps only high, without attributes', () => {
    const item =
      '<pertinentLineItem classCode="SBADM"><id root="L"/><repeatNumber xsi:type="IVL_INT" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      '<low value="1"/><high value="6"/></repeatNumber><pertinentInformation4><pertinentItemStatus/></pertinentInformation4></pertinentLineItem>';
    const rx = RX_OK.replace(/<pertinentLineItem>.*<\/pertinentLineItem>/, item);
    expect(utf8(buildFragmentsToBeHashed(prescription(rx)))).toContain(
      '<Fragment><pertinentLineItem xmlns="urn:hl7-org:v3" classCode="SBADM"><id root="L"></id><repeatNumber><high value="6"></high></repeatNumber></pertinentLineItem></Fragment>',
    );
  });

  test('the line-item edits apply in the hashed namespace: the same in a document without any namespace', () => {
    const item =
      '<pertinentLineItem classCode="SBADM">\n  <id root="L"/>\n  <repeatNumber value="x"><low value="1"/>\n <high value="6"/><!-- c --></repeatNumber>' +
      '<pertinentInformation4><pertinentItemStatus/></pertinentInformation4></pertinentLineItem>';
    const rx = RX_OK.replace(/<pertinentLineItem>.*<\/pertinentLineItem>/, item);
    const expected =
      '<Fragment><pertinentLineItem xmlns="urn:hl7-org:v3" classCode="SBADM"><id root="L"></id><repeatNumber><high value="6"></high></repeatNumber></pertinentLineItem></Fragment>';
    expect(utf8(buildFragmentsToBeHashed(prescription(rx)))).toContain(expected);
    expect(
      utf8(buildFragmentsToBeHashed(prescription(rx).replace(` xmlns="${HL7}"`, ''))),
    ).toContain(expected);
  });

  test('a line item whose children are in another namespace keeps them (only HL7 status and repeatNumber go)', () => {
    const item =
      '<pertinentLineItem><x:repeatNumber xmlns:x="urn:x"><low/></x:repeatNumber>' +
      '<pertinentInformation4 xmlns="urn:y"/></pertinentLineItem>';
    const rx = RX_OK.replace(/<pertinentLineItem>.*<\/pertinentLineItem>/, item);
    expect(utf8(buildFragmentsToBeHashed(prescription(rx)))).toContain(
      '<pertinentLineItem xmlns="urn:hl7-org:v3"><x:repeatNumber xmlns:x="urn:x"><low></low></x:repeatNumber><pertinentInformation4 xmlns="urn:y"></pertinentInformation4></pertinentLineItem>',
    );
  });

  test('start tags: attributes in any order, quoting or spacing, references and line breaks give one canonical form', () => {
    const variants = [
      '<id extension="E&amp;1" root="A"/>',
      '<id root="A" extension="E&amp;1"/>',
      "<id  root = 'A'\n extension='E&#38;1' />",
      '<id root="A" extension="E&amp;1"></id>',
    ];
    const outs = variants.map((id) =>
      utf8(buildFragmentsToBeHashed(prescription(RX_OK.replace('<id root="A"/>', id)))),
    );
    expect(new Set(outs).size).toBe(1);
    expect(outs[0]).toContain('<id xmlns="urn:hl7-org:v3" extension="E&amp;1" root="A"></id>');
  });

  test('whitespace-only text is dropped, other text kept verbatim (xsl:strip-space)', () => {
    const rx = RX_OK.replace(
      '<AgentPerson/>',
      '<AgentPerson>\n  <name> Dr  A &amp; B \n</name>\n</AgentPerson>',
    );
    expect(utf8(buildFragmentsToBeHashed(prescription(rx)))).toContain(
      '<AgentPerson xmlns="urn:hl7-org:v3"><name> Dr  A &amp; B \n</name></AgentPerson>',
    );
  });

  test('a ParentPrescription in no namespace (as the EPS vectors are) is hashed in urn:hl7-org:v3', () => {
    const plain = prescription(RX_OK).replace(` xmlns="${HL7}"`, '');
    expect(utf8(buildFragmentsToBeHashed(plain))).toBe(
      utf8(buildFragmentsToBeHashed(prescription(RX_OK))),
    );
  });

  test('a prefixed HL7 document keeps its prefix (xsl:copy-of), and unused declarations vanish', () => {
    const prefixed = prescription(RX_OK)
      .replace(/<(\/?)(\w)/g, '<$1hl7:$2')
      .replace(` xmlns="${HL7}"`, ` xmlns:hl7="${HL7}" xmlns:unused="urn:u"`);
    expect(utf8(buildFragmentsToBeHashed(prefixed))).toContain(
      '<Fragment><hl7:time xmlns:hl7="urn:hl7-org:v3" value="20240101000000"></hl7:time>',
    );
  });

  test('EPS canonicaliseAttribute: TAB and (CR)LF in attribute values become spaces', () => {
    const rx = RX_OK.replace('<id root="A"/>', '<id root="A&#9;&#9;B&#10;C&#13;D"/>');
    expect(utf8(buildFragmentsToBeHashed(prescription(rx)))).toContain(
      '<id xmlns="urn:hl7-org:v3" root="A B C&#xD;D"></id>',
    );
  });

  test('author/time override replaces only the value', () => {
    expect(
      utf8(buildFragmentsToBeHashed(prescription(RX_OK), { authorTime: '20241209115004' })),
    ).toContain('<time xmlns="urn:hl7-org:v3" value="20241209115004"></time>');
  });
});

describe.skipIf(!HAVE_VECTORS)(
  `EPS vectors ${HAVE_VECTORS ? '(read in place from ../shared/vectors/eps)' : SKIP_REASON}`,
  () => {
    test('§1.2–1.3 FragmentsToBeHashed reproduces EPS PrepareIntermediate-…Canonicalized.txt byte for byte', () => {
      // INDEX.md §4: EPS's fixture with its first "\n" removed (as the EPS test does), for the erd-prescriber-endorsed
      // Convert XML with author/time = 20201218123434 and prescription id = F5012E83-… (the fixture's id).
      const expected = vector(
        'fragments',
        'PrepareIntermediate-Hl7V3SignatureFragmentsCanonicalized.txt',
      )
        .toString('utf8')
        .replace('\n', '');
      const xml = vector('prepare', 'erd-prescriber-endorsed', '1-Convert-Response-Send-200_OK.xml')
        .toString('utf8')
        .replace(
          '<id root="5F3B444B-9378-4597-AB49-194EBFD05439"/>',
          '<id root="F5012E83-BD9E-4866-B453-86F75AEE2BD6"/>',
        );
      const actual = Buffer.from(
        buildFragmentsToBeHashed(xml, { authorTime: '20201218123434' }),
      ).toString('utf8');
      expect(actual.length).toBe(10562);
      expect(actual).toBe(expected);
    });

    test.each(prepareCases())(
      '§1.4/§1.8 $prepare digest of %s: SignedInfo rebuilt with author/time := timestamp',
      (name) => {
        const { digest, timestamp, algorithm } = prepareResponse(name);
        expect(algorithm === 'RS256' || algorithm === 'RS1').toBe(true);
        const xml = vector('prepare', name, '1-Convert-Response-Send-200_OK.xml');
        const fragments = buildFragmentsToBeHashed(xml, {
          authorTime: isoToHl7Timestamp(timestamp),
        });
        const signedInfo = buildSignedInfo(fragments, algorithm as 'RS256' | 'RS1');
        expect(Buffer.from(signedInfo).toString('utf8')).toBe(
          Buffer.from(digest, 'base64').toString('utf8'),
        );
      },
    );

    test('§1.8 without the override the Convert XML time is hashed (and the digest differs)', () => {
      const { digest, timestamp } = prepareResponse('paramedic');
      expect(isoToHl7Timestamp(timestamp)).toBe('20241209115004');
      const fragments = buildFragmentsToBeHashed(
        vector('prepare', 'paramedic', '1-Convert-Response-Send-200_OK.xml'),
      );
      expect(Buffer.from(buildSignedInfo(fragments, 'RS256')).toString('base64')).not.toBe(digest);
    });
  },
);
