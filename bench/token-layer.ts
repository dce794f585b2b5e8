// Issue 2 §6: raw C_Sign through graphene in-process vs the token layer (worker + queue), event-loop lag, openssl.
// Every target ratio is against the single-session raw rate, as the issues define it. The layer signs on
// DEFAULT_SESSIONS sessions per token (the worker's thread and the libuv pool): that helps HSM-like modules
// such as SoftHSM only; a real smartcard signs one thing at a time. For transparency, the row "raw C_Sign,
// N sessions in parallel" shows what the module itself does with N sessions and pkcs11js's async C_Sign.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as graphene from 'graphene-pk11';
import { openTokenPort, CKF_OS_LOCKING_OK } from '../src/pkcs11/index.js';
import { rate, rateSync, type BenchCard, type Row } from './common.js';

const DATA = new TextEncoder().encode(
  '<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">bench</SignedInfo>',
);

function benchSlot(mod: graphene.Module, card: BenchCard): graphene.Slot {
  const slots = mod.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const s = slots.items(i);
    if (s.getToken().serialNumber.trim() === card.serial) {
      return s;
    }
  }
  throw new Error('bench: card not found');
}

/** A raw signer: the bench card's key on one graphene session in this thread, kept open between measurements. */
export interface RawSigner {
  /** Signs for about `ms` milliseconds; returns signatures per second. */
  rate(ms: number): number;
  close(): void;
}

/**
 * Opens the raw signer (C_Initialize, a session, C_Login). Only one per process: the module is initialised
 * once per process, so a process whose agent has the module loaded uses a child (raw-child.ts) instead.
 *
 * @example
 * ```ts
 * const signer = openRawSigner(card);
 * const perSecond = signer.rate(2000);
 * signer.close();
 * ```
 */
export function openRawSigner(card: BenchCard): RawSigner {
  const mod = graphene.Module.load(card.modulePath);
  mod.initialize({ flags: CKF_OS_LOCKING_OK });
  try {
    const slot = benchSlot(mod, card);
    const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
    session.login(card.pin);
    const key = session
      .find({ class: graphene.ObjectClass.PRIVATE_KEY, id: Buffer.from('02', 'hex') })
      .items(0)
      .toType<graphene.PrivateKey>();
    const buf = Buffer.from(DATA);
    return {
      rate: (ms) =>
        rateSync(() => {
          session.createSign('SHA256_RSA_PKCS', key).once(buf);
        }, ms),
      close: () => {
        session.logout();
        session.close();
        mod.finalize();
        mod.close();
      },
    };
  } catch (err) {
    mod.finalize();
    mod.close();
    throw err;
  }
}

/** Raw C_Sign rate with graphene in this thread: the baseline every layer ratio is measured against. */
export function rawRate(card: BenchCard, ms: number): number {
  const signer = openRawSigner(card);
  try {
    return signer.rate(ms);
  } finally {
    signer.close();
  }
}

/**
 * Raw C_Sign rate with `n` sessions signing at once in this process: graphene/pkcs11js in-process, C_SignInit
 * on this thread and pkcs11js's asynchronous C_Sign on the libuv pool, one signature in flight per session.
 * Shown for transparency only (what the module gains from parallel sessions on this machine, this run).
 *
 * @example
 * ```ts
 * const parallel = await rawParallelRate(card, 2000, 2);
 * ```
 */
export async function rawParallelRate(card: BenchCard, ms: number, n: number): Promise<number> {
  const mod = graphene.Module.load(card.modulePath);
  mod.initialize({ flags: CKF_OS_LOCKING_OK });
  try {
    const slot = benchSlot(mod, card);
    const sessions = Array.from({ length: n }, () =>
      slot.open(graphene.SessionFlag.SERIAL_SESSION),
    );
    const [first] = sessions;
    if (!first) {
      throw new Error('bench: no session');
    }
    first.login(card.pin);
    const lib = mod.lib;
    const mechanism = graphene.Mechanism.create('SHA256_RSA_PKCS');
    const lanes = sessions.map((session) => ({
      session,
      key: session
        .find({ class: graphene.ObjectClass.PRIVATE_KEY, id: Buffer.from('02', 'hex') })
        .items(0),
    }));
    const buf = Buffer.from(DATA);
    // Each caller owns one session (one operation per session at a time), and every caller has finished before
    // the module is finalised: a C_Sign still on the pool must never outlive the module.
    let count = 0;
    const start = performance.now();
    const end = start + ms;
    const results = await Promise.allSettled(
      lanes.map(async (lane) => {
        while (performance.now() < end) {
          lib.C_SignInit(lane.session.handle, mechanism, lane.key.handle);
          await new Promise<void>((resolve, reject) => {
            lib.C_Sign(lane.session.handle, buf, Buffer.alloc(1024), (err) =>
              err ? reject(err) : resolve(),
            );
          });
          count += 1;
        }
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      throw failed.reason;
    }
    const r = count / ((performance.now() - start) / 1000);
    first.logout();
    sessions.forEach((s) => s.close());
    return r;
  } finally {
    mod.finalize();
    mod.close();
  }
}

export async function tokenLayer(card: BenchCard, raw: number, ms: number): Promise<Row[]> {
  const port = await openTokenPort({ modulePath: card.modulePath, pollIntervalMs: 500 });
  try {
    const sel = { serial: card.serial };
    await port.login(sel, card.pin);
    const sign = () => port.sign(sel, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data: DATA });
    await rate(sign, 200); // warm-up
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const one = await rate(sign, ms, 1);
    const four = await rate(sign, ms, 4);
    lag.disable();
    const p99 = lag.percentile(99) / 1e6;
    return [
      {
        section: 'token layer',
        name: 'layer sign, 1 caller',
        perSecond: one,
        baseline: 'raw C_Sign',
        ratio: one / raw,
        target: '>= 0.9',
        pass: one / raw >= 0.9,
      },
      {
        section: 'token layer',
        name: 'layer sign, 4 callers',
        perSecond: four,
        baseline: 'raw C_Sign',
        ratio: four / raw,
        target: '>= 0.9',
        pass: four / raw >= 0.9,
      },
      {
        section: 'token layer',
        name: 'event-loop lag p99 while signing',
        perSecond: Number.NaN,
        extra: `${p99.toFixed(2)} ms`,
        target: '<= 5 ms',
        pass: p99 <= 5,
      },
    ];
  } finally {
    await port.close();
  }
}
