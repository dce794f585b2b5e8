// docs/protocol/cis-login.md §1.4 role line grammar.
import { describe, expect, test } from 'vitest';
import { parseGpObject } from '../../../src/auth/wire/gpobject.js';
import {
  formatRoleText,
  parseRoleLine,
  parseRoles,
  splitJobRole,
} from '../../../src/auth/wire/roles.js';
import { haveVectors, noVectorsReason, vectorText } from './vectors.js';

describe('§1.4 role lines', () => {
  test('splits at the LAST ", \\"" so org names may contain commas', () => {
    const r = parseRoleLine(
      'TAUNTON AND SOMERSET NHS FOUNDATION TRUST, MUSGROVE PARK, "Clinical":"Clinical Provision":"Health Professional Access Role"',
      {
        id: '555000000203',
        orgcode: 'RBA',
      },
    );
    expect(r).toEqual({
      id: '555000000203',
      orgCode: 'RBA',
      orgName: 'TAUNTON AND SOMERSET NHS FOUNDATION TRUST, MUSGROVE PARK',
      jobRole: ['Clinical', 'Clinical Provision', 'Health Professional Access Role'],
      jobRoleText: '"Clinical":"Clinical Provision":"Health Professional Access Role"',
    });
  });

  test('an org name with `, "` inside still splits at the job-role part', () => {
    const r = parseRoleLine('THE "A, "B" PRACTICE, "Admin & Clerical":"Admin":"Clerk"', {
      id: '1',
    });
    expect(r.orgName).toBe('THE "A, "B" PRACTICE');
    expect(r.jobRole).toEqual(['Admin & Clerical', 'Admin', 'Clerk']);
    expect(r.orgCode).toBeUndefined();
  });

  test('rejects a line without the quoted job role, and a line without id', () => {
    expect(() => parseRoleLine('NO JOB ROLE HERE', { id: '1' })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_ROLE_MALFORMED' }),
    );
    expect(() => parseRoleLine('X, "a":"b":"c"', {})).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_ROLE_MALFORMED' }),
    );
    expect(() => splitJobRole('"a":"b"')).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_ROLE_MALFORMED' }),
    );
  });

  test('formatRoleText is the inverse of parseRoleLine', () => {
    const text = formatRoleText(
      'SAHA SN & DE G',
      '"Admin & Clerical":"Admin":"Registration Authority Agent"',
    );
    const r = parseRoleLine(text, { id: '102048850986', orgcode: 'B81108' });
    expect(formatRoleText(r.orgName, r.jobRoleText)).toBe(text);
  });

  test('roles are ordered by N, not by document order', () => {
    const roles = parseRoles(
      parseGpObject(
        '<gpOBJECT><gpPARAM name="nhsjobrole10" id="b">B, "1":"2":"3"</gpPARAM><gpPARAM name="nhsjobrole2" id="a">A, "1":"2":"3"</gpPARAM><gpPARAM name="nhsjobroleX" id="c">C, "1":"2":"3"</gpPARAM></gpOBJECT>',
      ),
    );
    expect(roles.map((r) => r.id)).toEqual(['a', 'b']);
  });
});

describe.skipIf(!haveVectors)(
  `§1.4 roles of the INT 2017 capture${haveVectors ? '' : ` (skipped: ${noVectorsReason})`}`,
  () => {
    const roles = haveVectors
      ? parseRoles(parseGpObject(vectorText('authvalidate-response-int-2017.xml')))
      : [];

    test('all 40 roles parse, in order', () => {
      expect(roles).toHaveLength(40);
      expect(roles[0]).toEqual({
        id: '887389426511',
        orgCode: 'B81012',
        orgName: 'STIRLING MEDICAL CENTRE (S KUMAR)',
        jobRole: ['Admin & Clerical', 'Admin', 'Demographic Administrator'],
        jobRoleText: '"Admin & Clerical":"Admin":"Demographic Administrator"',
      });
      expect(roles[39]?.id).toBe('555055071105');
      expect(new Set(roles.map((r) => r.id)).size).toBe(40);
    });

    test('raw & in org names and job roles survives', () => {
      expect(roles[1]?.jobRole[1]).toBe('Management - A & C');
      expect(roles[3]?.orgName).toBe('SAHA SN & DE G');
      expect(roles.find((r) => r.id === '102048864986')?.orgName).toBe("DR K HICKEY'S PRACTICE");
    });
  },
);
