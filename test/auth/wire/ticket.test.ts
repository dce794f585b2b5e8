// The SSO ticket's character set and length (src/auth/wire/ticket.ts).
import { describe, expect, test } from 'vitest';
import { MAX_SSO_TICKET_LENGTH, isSsoTicket } from '../../../src/auth/wire/ticket.js';
import { newTicket } from '../../../src/spine-sim/sessions.js';

describe('isSsoTicket', () => {
  test('accepts Access Manager tokens: the documented example, the simulator, url-safe and cookie forms', () => {
    expect(isSsoTicket('AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF+B1j56GJ4xGut4=@AAJTSQACMDE=#')).toBe(
      true,
    );
    expect(isSsoTicket('AQIC5wM2LY4SfcwrRGMHiyxMR3suYWqcF-B1j56GJ4xGut4.*AAJTSQACMDE.*')).toBe(
      true,
    );
    for (let i = 0; i < 50; i++) {
      expect(isSsoTicket(newTicket())).toBe(true);
    }
    expect(isSsoTicket(`AQIC${'a'.repeat(MAX_SSO_TICKET_LENGTH - 4)}`)).toBe(true);
  });

  test.each([
    ['CR LF', 'AQIC5wM2LY4S\r\nSet-Cookie: a=b'],
    ['LF', 'AQIC5wM2LY4Sabcd\nefgh'],
    ['space', 'AQIC5wM2LY4S abcdefgh'],
    ['tab', 'AQIC5wM2LY4S\tabcdefgh'],
    ['NUL', 'AQIC5wM2LY4S\u0000abcdefgh'],
    ['DEL', 'AQIC5wM2LY4S\u007fabcdefgh'],
    ['non-ASCII', 'AQIC5wM2LY4Sabcdéfgh'],
    ['quote', 'AQIC5wM2LY4S"abcdefgh'],
    ['semicolon', 'AQIC5wM2LY4S;abcdefgh'],
    ['percent', 'AQIC5wM2LY4S%0d%0aabcd'],
    ['too short', 'AQIC#'],
    ['too long', `AQIC${'a'.repeat(MAX_SSO_TICKET_LENGTH - 3)}`],
    ['empty', ''],
  ])('refuses %s', (_what, value) => {
    expect(isSsoTicket(value)).toBe(false);
  });

  test('refuses what is not a string', () => {
    expect(isSsoTicket(undefined)).toBe(false);
    expect(isSsoTicket(123)).toBe(false);
  });
});
