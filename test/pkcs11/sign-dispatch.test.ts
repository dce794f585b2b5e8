// Signing dispatch (src/pkcs11/sign-dispatch.ts): where a signature runs. The rest of the file's rules need a
// card and are tested against SoftHSM (test/integration/pkcs11/sessions.test.ts, token-layer.test.ts).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { signsOnPool } from '../../src/pkcs11/sign-dispatch.js';

describe('signsOnPool', () => {
  test('a lone signature (nothing waits behind it) signs on this thread', () => {
    expect(signsOnPool(false, 0, 3)).toBe(false);
  });

  test('with another waiting behind it, a signature goes to the pool while a pool seat is free', () => {
    expect(signsOnPool(true, 0, 3)).toBe(true);
    expect(signsOnPool(true, 1, 3)).toBe(true);
  });

  test('one session is always left for this thread: the pool takes at most sessions - 1', () => {
    expect(signsOnPool(true, 2, 3)).toBe(false);
  });

  test('with one session (sessions: 1) every signature signs on this thread', () => {
    expect(signsOnPool(true, 0, 1)).toBe(false);
  });

  test('property: never more than lanes - 1 on the pool, never on the pool without preferPool', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.nat(16),
        fc.integer({ min: 1, max: 16 }),
        (prefer, inFlight, lanes) => {
          const pool = signsOnPool(prefer, inFlight, lanes);
          expect(pool).toBe(prefer && inFlight + 1 <= lanes - 1);
        },
      ),
    );
  });
});
