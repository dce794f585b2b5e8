// The token layer against a real SoftHSM2 module: discovery, login errors, every mechanism checked by openssl,
// concurrency, shutdown with work in flight.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { digestInfo, openTokenPort, type TokenPort } from '../../../src/pkcs11/index.js';
import { opensslVerify, opensslVerifyDigest } from '../../helpers/openssl.js';
import { pkiPaths, privateSofthsmCopy, softhsmModule, testCard } from '../../helpers/softhsm.js';

const data = new TextEncoder().encode('<SignedInfo>prescription</SignedInfo>');

describe('token layer on SoftHSM', () => {
  let port: TokenPort;
  const prescriber = testCard('prescriber');
  const sel = { label: 'prescriber' } as const;

  beforeAll(async () => {
    port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    await port.login(sel, prescriber.pin);
  });
  afterAll(async () => {
    await port.close();
  });

  test('lists every test card by label and serial (never needs a slot id)', async () => {
    const slots = await port.listSlots();
    const tokens = slots.flatMap((s) => (s.token ? [s.token] : []));
    for (const label of [
      'prescriber',
      'multi-role',
      'revoked',
      'expired',
      'legacy',
      'lockme',
      'auth-only',
    ]) {
      const card = testCard(label);
      expect(tokens.find((t) => t.label === label)?.serial).toBe(card.serial);
    }
    const byLabel = tokens.find((t) => t.label === 'prescriber');
    expect(byLabel?.manufacturer).toMatch(/SoftHSM/);
    expect(byLabel?.flags.loginRequired).toBe(true);
  });

  test('pairs certificates with keys by CKA_ID and classifies them by key usage', async () => {
    const certs = await port.certificates({ serial: prescriber.serial });
    const auth = certs.find((c) => c.purpose === 'authentication');
    const nr = certs.find((c) => c.purpose === 'non-repudiation');
    expect(auth).toMatchObject({
      id: '01',
      keyUsage: ['digitalSignature'],
      hasPrivateKey: true,
      hasPublicKey: true,
    });
    expect(nr).toMatchObject({ id: '02', keyUsage: ['nonRepudiation'], hasPrivateKey: true });
    const authOnly = await port.certificates({ label: 'auth-only' });
    expect(authOnly.map((c) => c.purpose)).toEqual(['authentication']);
  });

  test('CKM_SHA256_RSA_PKCS signature verifies with openssl dgst -sha256', async () => {
    const sig = await port.sign(sel, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data });
    expect(opensslVerify(pkiPaths().cardCert('prescriber', 'sign'), data, sig, 'sha256')).toBe(
      true,
    );
    expect(
      opensslVerify(
        pkiPaths().cardCert('prescriber', 'sign'),
        new TextEncoder().encode('other'),
        sig,
        'sha256',
      ),
    ).toBe(false);
  });

  test('CKM_SHA1_RSA_PKCS signature verifies with openssl dgst -sha1', async () => {
    const sig = await port.sign(sel, { keyId: '01', mechanism: 'SHA1_RSA_PKCS', data });
    expect(opensslVerify(pkiPaths().cardCert('prescriber', 'auth'), data, sig, 'sha1')).toBe(true);
  });

  test('CKM_RSA_PKCS over a DigestInfo (pre-hashed) verifies with openssl pkeyutl', async () => {
    const digest = createHash('sha256').update(data).digest();
    const sig = await port.sign(sel, {
      keyId: '02',
      mechanism: 'RSA_PKCS',
      data: digestInfo('SHA-256', digest, { prehashed: true }),
    });
    expect(
      opensslVerifyDigest(pkiPaths().cardCert('prescriber', 'sign'), digest, sig, 'sha256'),
    ).toBe(true);
    // the same bytes as the hashed mechanism: PKCS#1 v1.5 is deterministic
    const viaHashed = await port.sign(sel, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data });
    expect(Buffer.from(sig).equals(Buffer.from(viaHashed))).toBe(true);
  });

  test('refuses a mechanism that is not on the allowlist', async () => {
    await expect(
      port.sign(sel, { keyId: '02', mechanism: 'SHA512_RSA_PKCS', data }),
    ).rejects.toMatchObject({
      code: 'ERR_PKCS11_MECHANISM_NOT_ALLOWED',
    });
  });

  test('an unknown key id is a typed error', async () => {
    await expect(
      port.sign(sel, { keyId: 'ff', mechanism: 'SHA256_RSA_PKCS', data }),
    ).rejects.toMatchObject({
      code: 'ERR_PKCS11_KEY_NOT_FOUND',
    });
  });

  test('an absent token is a typed error', async () => {
    await expect(port.login({ label: 'no-such-card' }, '1234')).rejects.toMatchObject({
      code: 'ERR_PKCS11_TOKEN_NOT_FOUND',
    });
  });

  test('50 concurrent signatures on one token all succeed and all verify', async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`document ${i}`));
    const sigs = await Promise.all(
      inputs.map((d) => port.sign(sel, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data: d })),
    );
    const { createPublicKey, verify } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const key = createPublicKey(readFileSync(pkiPaths().cardCert('prescriber', 'sign')));
    sigs.forEach((sig, i) =>
      expect(verify('sha256', inputs[i] ?? new Uint8Array(), key, sig)).toBe(true),
    );
    // and one of them independently with openssl
    expect(
      opensslVerify(
        pkiPaths().cardCert('prescriber', 'sign'),
        inputs[7] ?? new Uint8Array(),
        sigs[7] ?? new Uint8Array(),
        'sha256',
      ),
    ).toBe(true);
  });
});

describe('login errors', () => {
  test('wrong PIN then right PIN: a typed PIN error, never retried, then success', async () => {
    const copy = privateSofthsmCopy();
    process.env.SOFTHSM2_CONF = copy.conf;
    const port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    try {
      const card = testCard('lockme', copy.dir);
      const err = await port.login({ label: 'lockme' }, '00000000').catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: expect.stringMatching(/^ERR_PKCS11_PIN_(INCORRECT|COUNT_LOW)$/),
      });
      // the PIN is in no part of the error
      expect(JSON.stringify(err)).not.toContain('00000000');
      expect(String((err as Error).message)).not.toContain('00000000');
      expect(
        (await port.listSlots()).find((s) => s.token?.label === 'lockme')?.token?.flags
          .userPinCountLow,
      ).toBe(true);
      await port.login({ label: 'lockme' }, card.pin);
      expect(await port.loginState({ label: 'lockme' })).toBe('logged-in');
    } finally {
      await port.close();
      process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR}/softhsm2.conf`;
      copy.cleanup();
    }
  });

  test('a PIN of the wrong length is ERR_PKCS11_PIN_FORMAT', async () => {
    const port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    try {
      await expect(port.login({ label: 'prescriber' }, '1')).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_PKCS11_PIN_(FORMAT|INCORRECT|COUNT_LOW)$/),
      });
    } finally {
      await port.close();
    }
  });

  test('signing before login is ERR_PKCS11_NOT_LOGGED_IN', async () => {
    const port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    try {
      await expect(
        port.sign({ label: 'multi-role' }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data }),
      ).rejects.toMatchObject({
        code: 'ERR_PKCS11_NOT_LOGGED_IN',
      });
    } finally {
      await port.close();
    }
  });
});

describe('module loading', () => {
  test('a module path that does not exist is one typed error', async () => {
    await expect(openTokenPort({ modulePath: '/nonexistent/libpkcs11.so' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_MODULE_NOT_FOUND',
    });
  });
  test('a file that is not a PKCS#11 module is one typed error', async () => {
    await expect(openTokenPort({ modulePath: '/etc/hostname' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_MODULE_LOAD_FAILED',
    });
  });
});

describe('shutdown with work in flight', () => {
  test('accepted signatures finish, later calls get ERR_PKCS11_SHUTDOWN, nothing hangs', async () => {
    const port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    await port.login({ label: 'prescriber' }, testCard('prescriber').pin);
    const inflight = Array.from({ length: 20 }, () =>
      port.sign({ label: 'prescriber' }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data }),
    );
    const closing = port.close();
    const settled = await Promise.allSettled(inflight);
    await closing;
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    await expect(
      port.sign({ label: 'prescriber' }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data }),
    ).rejects.toMatchObject({
      code: 'ERR_PKCS11_SHUTDOWN',
    });
  });
});
