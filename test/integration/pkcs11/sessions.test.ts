// Several sessions per token against a real SoftHSM2 module: signatures run in parallel (the worker's thread
// and pkcs11js's asynchronous C_Sign on the libuv pool), and every non-signing call is a barrier
// (src/pkcs11/scheduler.ts). Every signature is checked with node:crypto, samples with openssl.
import { createPublicKey, verify } from 'node:crypto';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  openTokenPort,
  type CardEvent,
  type SignRequest,
  type TokenPort,
} from '../../../src/pkcs11/index.js';
import { opensslVerify } from '../../helpers/openssl.js';
import { pkiPaths, privateSofthsmCopy, softhsmModule, testCard } from '../../helpers/softhsm.js';

const enc = new TextEncoder();
const prescriber = testCard('prescriber');
const sel = { label: 'prescriber' } as const;
const signKey = () => createPublicKey(readFileSync(pkiPaths().cardCert('prescriber', 'sign')));
const authKey = () => createPublicKey(readFileSync(pkiPaths().cardCert('prescriber', 'auth')));
const request = (i: number): SignRequest => ({
  keyId: '02',
  mechanism: 'SHA256_RSA_PKCS',
  data: enc.encode(`doc ${i}`),
});

/** Every call settled with a signature that verifies over `request(i)` (the i-th call's data). */
function expectAllSigned(settled: PromiseSettledResult<Uint8Array>[]): void {
  settled.forEach((s, i) => {
    expect(s.status).toBe('fulfilled');
    expect(
      verify(
        'sha256',
        request(i).data,
        signKey(),
        s.status === 'fulfilled' ? s.value : new Uint8Array(),
      ),
    ).toBe(true);
  });
}

async function withPort<T>(sessions: number, fn: (port: TokenPort) => Promise<T>): Promise<T> {
  const port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0, sessions });
  try {
    return await fn(port);
  } finally {
    await port.close();
  }
}

describe('parallel signatures on several sessions', () => {
  test('60 concurrent signatures over two keys and two mechanisms on 3 sessions: all succeed and verify', async () => {
    await withPort(3, async (port) => {
      await port.login(sel, prescriber.pin);
      const reqs = Array.from({ length: 60 }, (_, i): SignRequest =>
        i % 3 === 0
          ? { keyId: '01', mechanism: 'SHA1_RSA_PKCS', data: enc.encode(`auth ${i}`) }
          : request(i),
      );
      const sigs = await Promise.all(reqs.map((r) => port.sign(sel, r)));
      sigs.forEach((sig, i) => {
        const r = reqs[i];
        expect(r).toBeDefined();
        const sha1 = r?.mechanism === 'SHA1_RSA_PKCS';
        expect(
          verify(
            sha1 ? 'sha1' : 'sha256',
            r?.data ?? new Uint8Array(),
            sha1 ? authKey() : signKey(),
            sig,
          ),
        ).toBe(true);
      });
      expect(
        opensslVerify(
          pkiPaths().cardCert('prescriber', 'sign'),
          request(1).data,
          sigs[1] ?? new Uint8Array(),
          'sha256',
        ),
      ).toBe(true);
    });
  });

  test('one session (sessions: 1) still serves concurrent callers, every signature valid', async () => {
    await withPort(1, async (port) => {
      await port.login(sel, prescriber.pin);
      const sigs = await Promise.all(
        Array.from({ length: 20 }, (_, i) => port.sign(sel, request(i))),
      );
      sigs.forEach((sig, i) =>
        expect(verify('sha256', request(i).data, signKey(), sig)).toBe(true),
      );
    });
  });
});

describe('barriers: login, logout and reads never run beside a signature', () => {
  test('logout while signatures are in flight: those sent before it complete, those sent after it fail', async () => {
    await withPort(3, async (port) => {
      await port.login(sel, prescriber.pin);
      const before = Array.from({ length: 12 }, (_, i) => port.sign(sel, request(i)));
      const logout = port.logout(sel);
      const after = Array.from({ length: 4 }, (_, i) => port.sign(sel, request(100 + i)));
      const settledBefore = await Promise.allSettled(before);
      await logout;
      const settledAfter = await Promise.allSettled(after);
      expectAllSigned(settledBefore);
      for (const s of settledAfter) {
        expect(s).toMatchObject({
          status: 'rejected',
          reason: { code: 'ERR_PKCS11_NOT_LOGGED_IN' },
        });
      }
      expect(await port.loginState(sel)).toBe('logged-out');
    });
  });

  test('a wrong PIN while signatures are in flight: they complete, the PIN is refused once, later ones fail', async () => {
    const copy = privateSofthsmCopy();
    process.env.SOFTHSM2_CONF = copy.conf;
    try {
      const card = testCard('lockme', copy.dir);
      await withPort(3, async (port) => {
        const lockme = { label: 'lockme' } as const;
        await port.login(lockme, card.pin);
        const before = Array.from({ length: 9 }, (_, i) => port.sign(lockme, request(i)));
        const login = port.login(lockme, '00000000').catch((e: unknown) => e);
        const after = port.sign(lockme, request(99)).catch((e: unknown) => e);
        expect((await Promise.allSettled(before)).every((s) => s.status === 'fulfilled')).toBe(
          true,
        );
        expect(await login).toMatchObject({
          code: expect.stringMatching(/^ERR_PKCS11_PIN_(INCORRECT|COUNT_LOW)$/),
        });
        expect(await after).toMatchObject({ code: 'ERR_PKCS11_NOT_LOGGED_IN' });
        // one wrong try, not more: the token shows "count low" (SoftHSM's only counter), and the right PIN works
        const flags = (await port.listSlots()).find((s) => s.token?.label === 'lockme')?.token
          ?.flags;
        expect(flags?.userPinLocked).toBe(false);
        await port.login(lockme, card.pin);
        expect(await port.loginState(lockme)).toBe('logged-in');
      });
    } finally {
      process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR}/softhsm2.conf`;
      copy.cleanup();
    }
  });

  test('certificates, login state and slot lists between signatures answer correctly', async () => {
    await withPort(3, async (port) => {
      await port.login(sel, prescriber.pin);
      const signs = Array.from({ length: 12 }, (_, i) => port.sign(sel, request(i)));
      const [certs, state, slots] = await Promise.all([
        port.certificates(sel),
        port.loginState(sel),
        port.listSlots(),
      ]);
      expect(certs.map((c) => c.id).sort()).toEqual(['01', '02']);
      expect(state).toBe('logged-in');
      expect(slots.some((s) => s.token?.serial === prescriber.serial)).toBe(true);
      const sigs = await Promise.all(signs);
      sigs.forEach((sig, i) =>
        expect(verify('sha256', request(i).data, signKey(), sig)).toBe(true),
      );
    });
  });

  test('shutdown with signatures in flight on every session: accepted work finishes, nothing hangs', async () => {
    const port = await openTokenPort({
      modulePath: softhsmModule(),
      pollIntervalMs: 0,
      sessions: 4,
    });
    await port.login(sel, prescriber.pin);
    const inflight = Array.from({ length: 24 }, (_, i) => port.sign(sel, request(i)));
    const closing = port.close();
    const settled = await Promise.allSettled(inflight);
    await closing;
    expectAllSigned(settled);
    await expect(port.sign(sel, request(0))).rejects.toMatchObject({ code: 'ERR_PKCS11_SHUTDOWN' });
  });
});

describe('a card removed while signatures run in parallel (token folder removed and restored)', () => {
  test('every call settles with a valid signature or a removal error; the card is served again when it returns', async () => {
    const copy = privateSofthsmCopy();
    process.env.SOFTHSM2_CONF = copy.conf;
    const card = testCard('prescriber', copy.dir);
    const tokens = join(copy.dir, 'tokens');
    const folder = readdirSync(tokens).find((d) => d.replace(/-/g, '').endsWith(card.serial)) ?? '';
    const events: CardEvent[] = [];
    const port = await openTokenPort({
      modulePath: softhsmModule(),
      pollIntervalMs: 100,
      sessions: 3,
    });
    port.subscribe((e) => events.push(e));
    const own = { serial: card.serial };
    try {
      await port.login(own, card.pin);
      const stream = Array.from({ length: 40 }, (_, i) => port.sign(own, request(i)));
      await stream[3];
      renameSync(join(tokens, folder), join(copy.dir, 'parked'));
      const settled = await Promise.allSettled(stream);
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') {
          expect(verify('sha256', request(i).data, signKey(), s.value)).toBe(true);
        } else {
          expect(s.reason).toMatchObject({
            code: expect.stringMatching(
              /^ERR_PKCS11_(CARD_REMOVED|TOKEN_NOT_FOUND|NOT_LOGGED_IN)$/,
            ),
          });
        }
      });
      await expect
        .poll(() => events.some((e) => e.type === 'removed'), { timeout: 10_000 })
        .toBe(true);
      renameSync(join(copy.dir, 'parked'), join(tokens, folder));
      await expect
        .poll(() => events.some((e) => e.type === 'inserted' && e.token.serial === card.serial), {
          timeout: 10_000,
        })
        .toBe(true);
      await port.login(own, card.pin);
      const again = await Promise.all(
        Array.from({ length: 6 }, (_, i) => port.sign(own, request(i))),
      );
      again.forEach((sig, i) =>
        expect(verify('sha256', request(i).data, signKey(), sig)).toBe(true),
      );
    } finally {
      await port.close();
      process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR}/softhsm2.conf`;
      copy.cleanup();
    }
  });
});
