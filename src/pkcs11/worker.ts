/**
 * The PKCS#11 worker thread: owns the module, runs every call (blocking ones included: C_Login, C_OpenSession,
 * C_GetSlotList) one at a time, and polls for card insertion and removal between calls.
 *
 * Loaded from compiled JS (dist/src/pkcs11/worker.js): a TypeScript worker cannot be loaded on Node 20.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ServiceError } from '../errors.js';
import { Pkcs11Driver } from './driver.js';
import { ckrName, mapPkcs11Error } from './errors.js';
import type { OpName, Request, WireError, WorkerInit, WorkerMessage } from './protocol.js';

const port = parentPort;
if (!port) {
  throw new Error('worker.ts must run as a worker thread');
}
const init = workerData as WorkerInit;
const driver = new Pkcs11Driver({ modulePath: init.modulePath, mechanisms: init.mechanisms });

function post(msg: WorkerMessage): void {
  port?.postMessage(msg);
}

function toWire(err: unknown): WireError {
  const e = err instanceof ServiceError ? err : mapPkcs11Error(err);
  const ckr = ckrName(e.cause) ?? (typeof e.detail?.ckr === 'string' ? e.detail.ckr : undefined);
  return { code: e.code, message: e.message, ...(ckr ? { ckr } : {}) };
}

let closing = false;
let timer: NodeJS.Timeout | undefined;

function pollNow(): void {
  try {
    for (const event of driver.poll()) {
      post({ kind: 'event', event });
    }
  } catch {
    // A failing poll is retried at the next tick; the failure itself shows up on the next real call.
  }
}

const handlers: { [K in OpName]: (...args: never[]) => unknown } = {
  listSlots: () => driver.listSlots(),
  login: (sel: never, pin: never) => driver.login(sel, pin),
  logout: (sel: never) => driver.logout(sel),
  loginState: (sel: never) => driver.loginState(sel),
  certificates: (sel: never) => driver.certificates(sel),
  sign: (sel: never, req: never) => driver.sign(sel, req),
  poll: () => pollNow(),
  shutdown: () => {
    closing = true;
    if (timer) {
      clearInterval(timer);
    }
    driver.shutdown();
  },
};

port.on('message', (msg: Request) => {
  // Messages are handled in arrival order and each handler is synchronous: calls never interleave.
  try {
    if (closing && msg.op !== 'shutdown') {
      throw new ServiceError('ERR_PKCS11_SHUTDOWN', 'the token layer is shutting down');
    }
    const handler = handlers[msg.op] as (...args: unknown[]) => unknown;
    const value = handler(...(msg.args as unknown[]));
    const transfer = value instanceof Uint8Array ? [value.buffer as ArrayBuffer] : [];
    port.postMessage({ kind: 'response', id: msg.id, ok: true, value } satisfies WorkerMessage, transfer);
    if (msg.op === 'shutdown') {
      port.close();
    }
  } catch (err) {
    post({ kind: 'response', id: msg.id, ok: false, error: toWire(err) });
  }
});

try {
  driver.load();
  post({ kind: 'ready' });
  if (init.pollIntervalMs > 0) {
    timer = setInterval(pollNow, init.pollIntervalMs);
  }
} catch (err) {
  post({ kind: 'fatal', error: toWire(err) });
}
