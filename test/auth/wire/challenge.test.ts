// docs/protocol/cis-login.md §1.2 (challenge layout), §7 (stateless HMAC signature and freshness).
import { describe, expect, test } from 'vitest';
import {
  challengeTimestamp,
  constantEquals,
  createChallenge,
  verifyChallenge,
} from '../../../src/auth/wire/challenge.js';

const key = new Uint8Array(32).fill(7);
const t0 = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('§1.2 challenge layout', () => {
  test('the real INT challenge carries a big-endian ms timestamp at bytes 20–27 (2017-06-28 14:36:40.397Z)', () => {
    const bytes = Buffer.from(
      'MlJN9BVjTdKtTpKrSz3Jvq0sONIAAAFc7yH6TYe8NK6GHS7F7t2tGnmcost76xk7',
      'base64',
    );
    expect(new Date(challengeTimestamp(bytes)).toISOString()).toBe('2017-06-28T14:36:40.397Z');
  });

  test('ours is 48 bytes with the issue time in the middle, random around it', () => {
    const a = createChallenge(key, t0);
    const b = createChallenge(key, t0);
    const bytes = Buffer.from(a.challenge, 'base64');
    expect(bytes).toHaveLength(48);
    expect(challengeTimestamp(bytes)).toBe(t0);
    expect(a.challenge).not.toBe(b.challenge);
    expect(Buffer.from(a.signature, 'base64')).toHaveLength(32);
  });
});

describe('§7 server signature and freshness', () => {
  test('a fresh, untouched pair verifies and yields the challenge bytes', () => {
    const c = createChallenge(key, t0);
    const out = verifyChallenge(key, c.challenge, c.signature, { now: t0 + 60_000 });
    expect(Buffer.from(out.bytes).toString('base64')).toBe(c.challenge);
    expect(out.issuedAt).toBe(t0);
  });

  test('rejects a signature made with another key (forged)', () => {
    const c = createChallenge(new Uint8Array(32).fill(8), t0);
    expect(() => verifyChallenge(key, c.challenge, c.signature, { now: t0 })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_FORGED' }),
    );
  });

  test('rejects a challenge with one bit changed (the MAC covers the timestamp)', () => {
    const c = createChallenge(key, t0);
    const bytes = Buffer.from(c.challenge, 'base64');
    bytes[27] = (bytes[27] ?? 0) ^ 1;
    expect(() => verifyChallenge(key, bytes.toString('base64'), c.signature, { now: t0 })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_FORGED' }),
    );
  });

  test('rejects a challenge older than the window (default 5 min), accepts at the edge', () => {
    const c = createChallenge(key, t0);
    expect(() =>
      verifyChallenge(key, c.challenge, c.signature, { now: t0 + 5 * 60_000 }),
    ).not.toThrow();
    expect(() =>
      verifyChallenge(key, c.challenge, c.signature, { now: t0 + 5 * 60_000 + 1 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_STALE' }));
    expect(() =>
      verifyChallenge(key, c.challenge, c.signature, { now: t0 + 61_000, maxAgeMs: 60_000 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_STALE' }));
  });

  test('rejects a challenge from the future (beyond 30 s skew)', () => {
    const c = createChallenge(key, t0 + 31_000);
    expect(() => verifyChallenge(key, c.challenge, c.signature, { now: t0 })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_STALE' }),
    );
  });

  test('rejects a challenge that is not 48 bytes of base64', () => {
    const c = createChallenge(key, t0);
    expect(() => verifyChallenge(key, 'not*base64', c.signature, { now: t0 })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_MALFORMED' }),
    );
    expect(() => verifyChallenge(key, 'QUJD', c.signature, { now: t0 })).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_CHALLENGE_MALFORMED' }),
    );
  });

  test('constantEquals compares content and length', () => {
    expect(constantEquals(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(constantEquals(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(constantEquals(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});
