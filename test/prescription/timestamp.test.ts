import { describe, expect, test } from 'vitest';

import { isoToHl7Timestamp } from '../../src/prescription/timestamp.js';

describe('§1.8 $prepare timestamp → HL7 author/time (UTC YYYYMMDDHHmmss)', () => {
  test.each([
    ['2024-12-09T11:50:04+00:00', '20241209115004'],
    ['2024-12-09T11:50:04Z', '20241209115004'],
    ['2024-12-09T12:50:04+01:00', '20241209115004'],
    ['2024-12-31T23:30:00-01:00', '20250101003000'],
    ['2024-02-29T00:00:00.999+00:00', '20240229000000'],
  ])('%s → %s', (iso, hl7) => {
    expect(isoToHl7Timestamp(iso)).toBe(hl7);
  });

  test.each([
    '',
    '2024-12-09',
    '2024-12-09T11:50:04',
    '2024-13-01T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-12-09T24:00:00Z',
    '2024-12-09T11:50:04+24:00',
    ' 2024-12-09T11:50:04Z',
  ])('rejects %j', (iso) => {
    expect(() => isoToHl7Timestamp(iso)).toThrow(
      expect.objectContaining({ code: 'ERR_PRESCRIPTION_TIMESTAMP_INVALID' }),
    );
  });
});
