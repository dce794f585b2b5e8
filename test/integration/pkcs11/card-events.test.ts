// Card insertion and removal. SoftHSM cannot simulate a pulled card; removing and restoring a token's folder
// makes its calls fail until C_Finalize + C_Initialize, which exercises the layer's real re-initialise path.
// A card pulled in the middle of a signature is injected with the fault port (test/helpers/fault-port.ts).
import { readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTokenPort, type CardEvent, type TokenPort } from '../../../src/pkcs11/index.js';
import { FaultPort } from '../../helpers/fault-port.js';
import { privateSofthsmCopy, softhsmModule, testCard } from '../../helpers/softhsm.js';

const data = new TextEncoder().encode('x');

function waitFor(
  events: CardEvent[],
  pred: (e: CardEvent) => boolean,
  ms = 10_000,
): Promise<CardEvent> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const hit = events.find(pred);
      if (hit) {
        resolve(hit);
      } else if (Date.now() - started > ms) {
        reject(
          new Error(`no matching card event; saw ${JSON.stringify(events.map((e) => e.type))}`),
        );
      } else {
        setTimeout(tick, 25);
      }
    };
    tick();
  });
}

describe('removal and return of a card (token folder removed and restored)', () => {
  const copy = privateSofthsmCopy();
  let port: TokenPort;
  const events: CardEvent[] = [];
  const card = testCard('prescriber', copy.dir);
  const tokens = join(copy.dir, 'tokens');
  const folder = readdirSync(tokens).find((d) => d.replace(/-/g, '').endsWith(card.serial));
  const parked = join(copy.dir, 'parked');

  beforeAll(async () => {
    process.env.SOFTHSM2_CONF = copy.conf;
    port = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 100 });
    port.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await port.close();
    process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR}/softhsm2.conf`;
    copy.cleanup();
  });

  test('signals removal, fails calls with a clear error, and serves the card again when it returns', async () => {
    expect(folder).toBeDefined();
    await port.login({ serial: card.serial }, card.pin);
    await port.sign({ serial: card.serial }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data });

    renameSync(join(tokens, folder ?? ''), parked);
    const removed = await waitFor(
      events,
      (e) => e.type === 'removed' && e.token.serial === card.serial,
    );
    expect(removed.token.label).toBe('prescriber');
    await expect(
      port.sign({ serial: card.serial }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_PKCS11_(CARD_REMOVED|TOKEN_NOT_FOUND)$/),
    });

    renameSync(parked, join(tokens, folder ?? ''));
    await waitFor(events, (e) => e.type === 'inserted' && e.token.serial === card.serial);
    // served again without restarting the process; the old login is gone, as on a real card
    await expect(
      port.sign({ serial: card.serial }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data }),
    ).rejects.toMatchObject({
      code: 'ERR_PKCS11_NOT_LOGGED_IN',
    });
    await port.login({ serial: card.serial }, card.pin);
    const sig = await port.sign(
      { serial: card.serial },
      { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data },
    );
    expect(sig.length).toBe(256);
  });
});

describe('removal mid-signature (fault port)', () => {
  test('the pulled signature and every later one fail with ERR_PKCS11_CARD_REMOVED; a removed event is emitted', async () => {
    const card = testCard('prescriber');
    const real = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    const port = new FaultPort(real);
    const events: CardEvent[] = [];
    port.subscribe((e) => events.push(e));
    try {
      await port.login({ label: 'prescriber' }, card.pin);
      port.removeDuringSign(3, { label: 'prescriber', serial: card.serial });
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          port.sign({ label: 'prescriber' }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results.slice(3)) {
        expect(r).toMatchObject({
          status: 'rejected',
          reason: { code: 'ERR_PKCS11_CARD_REMOVED' },
        });
      }
      expect(events).toEqual([
        { type: 'removed', token: { label: 'prescriber', serial: card.serial } },
      ]);
    } finally {
      await port.close();
    }
  });

  test('a card that locks after wrong PINs reports final try, then locked', async () => {
    const real = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    const port = new FaultPort(real);
    port.lockAfterWrongPins(3);
    try {
      await expect(port.login({ label: 'lockme' }, '00000001')).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_PKCS11_PIN_/),
      });
      await expect(port.login({ label: 'lockme' }, '00000002')).rejects.toMatchObject({
        code: 'ERR_PKCS11_PIN_FINAL_TRY',
      });
      await expect(port.login({ label: 'lockme' }, '00000003')).rejects.toMatchObject({
        code: 'ERR_PKCS11_PIN_LOCKED',
      });
      // locked means locked: the right PIN no longer helps
      await expect(port.login({ label: 'lockme' }, testCard('lockme').pin)).rejects.toMatchObject({
        code: 'ERR_PKCS11_PIN_LOCKED',
      });
    } finally {
      await port.close();
    }
  });
});
