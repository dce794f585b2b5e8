// docs/protocol/cis-login.md §3: the SAML 1.1 role assertion.
import { describe, expect, test } from 'vitest';
import {
  buildRoleAssertion,
  buildRoleAssertionError,
  parseRoleAssertion,
  type RoleAssertion,
} from '../../../src/auth/wire/saml.js';
import { haveVectors, noVectorsReason, vectorText } from './vectors.js';

describe.skipIf(!haveVectors)(
  `§3 captured samples${haveVectors ? '' : ` (skipped: ${noVectorsReason})`}`,
  () => {
    test('2018 sample (SPINECORE): person block, one role with 9 business functions', () => {
      const a = parseRoleAssertion(vectorText('role-assertion-2018.xml'));
      expect(a).toMatchObject({
        uid: '232871648514',
        cn: 'Hatherly Adam',
        ssbSessionRoleUid: '780609380511',
        ssbMode: '0',
      });
      expect(a.nhsOcsPrCode).toBeUndefined();
      expect(a.roles).toHaveLength(1);
      const r = a.roles[0];
      expect(r).toMatchObject({
        uniqueIdentifier: '780609380511',
        nhsIdCode: 'X09',
        o: 'NHS CONNECTING FOR HEALTH',
        nhsJobRole: '"Clinical":"Clinical Provision":"Health Professional Access Role"',
        nhsJobRoleCode: 'S8000:G8000:R8003',
        areasOfWork: [],
        workGroups: [],
      });
      expect(r?.businessFunctions).toHaveLength(9);
      expect(r?.businessFunctionCodes).toEqual([
        'B8029',
        'B0945',
        'B0257',
        'B0264',
        'B0286',
        'B0991',
        'B8004',
        'B8006',
        'B0085',
      ]);
      expect(a.issueInstant).toBe('2018-06-28T14:30:51Z');
      expect(a.notBefore).toBe('2018-06-28T14:27:51Z');
    });

    test('2015 sample (openMAXIMS): areas of work and work groups, entity-escaped &', () => {
      const a = parseRoleAssertion(vectorText('role-assertion-2015.xml'));
      expect(a).toMatchObject({
        uid: '555005007101',
        cn: 'Nesbitt Sean Mr',
        ssbSessionRoleUid: '555005342107',
      });
      expect(a.roles).toEqual([
        {
          uniqueIdentifier: '555005342107',
          nhsIdCode: 'RME',
          o: 'COMMUNICARE NHS TRUST',
          nhsJobRole: '"Admin & Clerical":"Admin":"Demographic Administrator"',
          nhsJobRoleCode: 'S0080:G0440:R5110',
          businessFunctions: ['Access DSA'],
          businessFunctionCodes: ['B0089'],
          areasOfWork: ['"Secondary Care":"Secondary Care":"Secondary Care"'],
          areaOfWorkCodes: ['P8001:Q8001:T6092'],
          workGroups: ['DemographicWG'],
          workGroupCodes: ['555005330103'],
        },
      ]);
      expect(a.roles.find((r) => r.uniqueIdentifier === a.ssbSessionRoleUid)).toBeDefined();
    });
  },
);

const data: RoleAssertion = {
  uid: '555000000002',
  cn: 'Multi Role',
  ssbSessionRoleUid: '555000000202',
  ssbMode: '1',
  nhsOcsPrCode: 'G1234567',
  roles: [
    {
      uniqueIdentifier: '555000000201',
      nhsIdCode: 'B81012',
      o: 'STIRLING MEDICAL CENTRE (S KUMAR)',
      nhsJobRole: '"Admin & Clerical":"Admin":"Demographic Administrator"',
      nhsJobRoleCode: 'S8001:G8001:R8006',
      businessFunctions: [],
      businessFunctionCodes: [],
      areasOfWork: [],
      areaOfWorkCodes: [],
      workGroups: [],
      workGroupCodes: [],
    },
    {
      uniqueIdentifier: '555000000202',
      nhsIdCode: 'A81001',
      o: 'THE <DENSHAM> SURGERY',
      nhsJobRole: '"Clinical":"Clinical Provision":"Medical Practitioner Access Role"',
      nhsJobRoleCode: 'S8000:G8000:R8000',
      businessFunctions: ['Prescribe Medicines', 'Sign & send'],
      businessFunctionCodes: ['B0570', 'B0058'],
      areasOfWork: ['Pharmacy'],
      areaOfWorkCodes: ['P1'],
      workGroups: ['Dispensary'],
      workGroupCodes: ['555000000999'],
    },
  ],
};
const ctx = {
  ticket: 'AQIC5wM2LY4Sabc+/=@AAJTSQACMDE=#',
  issueInstant: Date.UTC(2025, 5, 1, 10, 0, 0),
  authenticationInstant: Date.UTC(2025, 5, 1, 9, 58, 0),
  recipient: '127.0.0.1',
};

describe('§3 generator', () => {
  test('our assertion parses back to the same data', () => {
    const xml = buildRoleAssertion(data, ctx);
    const { issueInstant, notBefore, notOnOrAfter, ...back } = parseRoleAssertion(xml);
    expect(back).toEqual(data);
    expect(issueInstant).toBe('2025-06-01T10:00:00Z');
    expect(notBefore).toBe('2025-06-01T09:57:00Z');
    expect(notOnOrAfter).toBe('2025-06-01T10:01:00Z');
  });

  test('observed shape: ResponseID="null", sun identity methods, ticket in the inner subject, no signature', () => {
    const xml = buildRoleAssertion(data, ctx);
    expect(xml).toContain('ResponseID="null" InResponseTo="null"');
    expect(xml).toContain(
      '<saml:ConfirmationMethod>urn:com:sun:identity</saml:ConfirmationMethod>',
    );
    expect(xml).toContain('AuthenticationMethod="urn:com:sun:identity:ExtendedLoginModule"');
    expect(xml).toContain(
      `<saml:SubjectConfirmationData>${ctx.ticket}</saml:SubjectConfirmationData>`,
    );
    expect(xml).toContain('Recipient="127.0.0.1"');
    expect(xml).not.toContain('Signature');
    expect(xml.match(/AttributeName="nhsIdCode"/g)).toHaveLength(2);
  });
});

describe('§3 parser rules', () => {
  const base = buildRoleAssertion(data, ctx);

  test('refuses DOCTYPE and ENTITY declarations (XXE, billion laughs)', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${base}`;
    expect(() => parseRoleAssertion(xxe)).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_SAML_FORBIDDEN_DTD' }),
    );
  });

  test('refuses a failure status', () => {
    expect(() =>
      parseRoleAssertion(buildRoleAssertionError('INVALID_SESSION', ctx.issueInstant)),
    ).toThrow(expect.objectContaining({ code: 'ERR_WIRE_SAML_STATUS' }));
  });

  test('refuses XML that is not well-formed, and a block missing uniqueIdentifier', () => {
    expect(() => parseRoleAssertion(base.replace('</samlp:Response>', ''))).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_SAML_MALFORMED' }),
    );
    const noId = base.replace(
      /<saml:Attribute AttributeName="uniqueIdentifier"[\s\S]*?<\/saml:Attribute>/,
      '',
    );
    expect(() => parseRoleAssertion(noId)).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_SAML_MALFORMED' }),
    );
  });

  test('person attributes after the role blocks still count (no dependence on order)', () => {
    const cn =
      / {12}<saml:Attribute AttributeName="cn"[\s\S]*?<\/saml:Attribute>\n/.exec(base)?.[0] ?? '';
    const moved = base
      .replace(cn, '')
      .replace('        </saml:AttributeStatement>', `${cn}        </saml:AttributeStatement>`);
    expect(moved).not.toBe(base);
    expect(parseRoleAssertion(moved).cn).toBe('Multi Role');
  });

  test('a repeated single-valued role attribute inside one block is refused', () => {
    const o =
      / {12}<saml:Attribute AttributeName="o"[\s\S]*?<\/saml:Attribute>\n/.exec(base)?.[0] ?? '';
    expect(() => parseRoleAssertion(base.replace(o, o + o))).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_SAML_MALFORMED' }),
    );
  });
});
