// conclude/buildReport (src/cms/report.ts): the DSS-style rule shared by CMS and prescription verification.
import { describe, expect, test } from 'vitest';
import { buildReport, conclude, type Check } from '../../src/cms/report.js';

const c = (status: Check['status'], sub?: Check['subIndication']): Check =>
  sub === undefined
    ? { id: status, title: status, status }
    : { id: status, title: status, status, subIndication: sub };

describe('ETSI EN 319 102-1 indications from ordered checks', () => {
  test('first failure wins over an earlier indeterminate', () => {
    expect(
      conclude([
        c('passed'),
        c('indeterminate', 'TRY_LATER'),
        c('failed', 'HASH_FAILURE'),
        c('failed', 'REVOKED'),
      ]),
    ).toEqual({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
  });
  test('otherwise the first indeterminate; warnings and skips never decide', () => {
    expect(conclude([c('warning'), c('indeterminate', 'TRY_LATER'), c('skipped')])).toEqual({
      indication: 'INDETERMINATE',
      subIndication: 'TRY_LATER',
    });
    expect(conclude([c('passed'), c('warning'), c('skipped')])).toEqual({
      indication: 'TOTAL_PASSED',
    });
  });
  test('buildReport is frozen and carries the signing time as ISO 8601', () => {
    const r = buildReport({
      format: 'CMS',
      checks: [c('passed')],
      chain: [],
      signingTime: new Date(0),
    });
    expect(r).toMatchObject({
      indication: 'TOTAL_PASSED',
      signingTime: '1970-01-01T00:00:00.000Z',
    });
    expect(Object.isFrozen(r) && Object.isFrozen(r.checks)).toBe(true);
  });
});
