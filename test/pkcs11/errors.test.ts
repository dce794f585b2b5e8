import { describe, expect, test } from 'vitest';
import { mapPkcs11Error, PKCS11_ERRORS } from '../../src/pkcs11/errors.js';
import { keyUsageOf, purposeOf } from '../../src/pkcs11/key-usage.js';

describe('CKR_* mapping (src/pkcs11/errors.ts)', () => {
  test.each([
    ['CKR_PIN_INCORRECT', 'ERR_PKCS11_PIN_INCORRECT'],
    ['CKR_PIN_LOCKED', 'ERR_PKCS11_PIN_LOCKED'],
    ['CKR_PIN_EXPIRED', 'ERR_PKCS11_PIN_EXPIRED'],
    ['CKR_DEVICE_REMOVED', 'ERR_PKCS11_CARD_REMOVED'],
    ['CKR_TOKEN_NOT_PRESENT', 'ERR_PKCS11_CARD_REMOVED'],
    ['CKR_SESSION_HANDLE_INVALID', 'ERR_PKCS11_CARD_REMOVED'],
    ['CKR_DEVICE_ERROR', 'ERR_PKCS11_DEVICE_ERROR'],
    ['CKR_USER_NOT_LOGGED_IN', 'ERR_PKCS11_NOT_LOGGED_IN'],
    ['CKR_MECHANISM_INVALID', 'ERR_PKCS11_MECHANISM_NOT_SUPPORTED'],
    ['CKR_FUNCTION_FAILED', 'ERR_PKCS11_INTERNAL'],
  ])('%s → %s, original kept as cause', (ckr, code) => {
    const original = new Error(`${ckr}:123`);
    const err = mapPkcs11Error(original);
    expect(err.code).toBe(code);
    expect(err.cause).toBe(original);
    expect(err.message).toBe(PKCS11_ERRORS[err.code].message);
  });

  test('every code has a status, a message and a fix', () => {
    for (const [code, spec] of Object.entries(PKCS11_ERRORS)) {
      expect(code).toMatch(/^ERR_PKCS11_/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.message.length).toBeGreaterThan(5);
      expect(spec.fix.length).toBeGreaterThan(5);
    }
  });
});

describe('RFC 5280 §4.2.1.3 keyUsage', () => {
  test('no extension, garbage and truncation give no usages (fail closed)', () => {
    expect(keyUsageOf(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toEqual([]);
    expect(keyUsageOf(new Uint8Array([1, 2, 3]))).toEqual([]);
    expect(keyUsageOf(new Uint8Array())).toEqual([]);
  });
  test('non-repudiation wins over digital signature', () => {
    expect(purposeOf(['digitalSignature', 'nonRepudiation'])).toBe('non-repudiation');
    expect(purposeOf(['digitalSignature'])).toBe('authentication');
    expect(purposeOf(['keyEncipherment'])).toBe('other');
  });
});
