/**
 * The PKCS#11 worker thread: owns the module and runs every call through one queue (scheduler.ts):
 * signatures run beside each other on the token's sessions (C_Sign on the libuv pool), every other call
 * (blocking ones included: C_Login, C_OpenSession, C_GetSlotList) runs alone, and card polls run between them.
 *
 * Loaded from compiled JS (dist/src/pkcs11/worker.js): a TypeScript worker cannot be loaded on Node 20.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ServiceError } from '../errors.js';
import { Pkcs11Driver } from './driver.js';
import { ckrName, mapPkcs11Error, pkcs11Error } from './errors.js';
import type {
  OpName,
  Request,
  RequestBatch,
  WireError,
  WorkerInit,
  WorkerMessage,
} from './protocol.js';
import { Scheduler, type Reply } from './scheduler.js';
import type { SignRequest, TokenSelector } from './types.js';

const port = parentPort;
if (!port) {
  throw new Error('worker.ts must run as a worker thread');
}
const init = workerData as WorkerInit;
const driver = new Pkcs11Driver({
  modulePath: init.modulePath,
  mechanisms: init.mechanisms,
  sessions: init.sessions,
});

function post(msg: WorkerMessage): void {
  try {
    port?.postMessage(msg);
  } catch {
    // the port is closed: the service has gone, nobody is waiting for this answer
  }
}

function toWire(err: unknown): WireError {
  const e = err instanceof ServiceError ? err : mapPkcs11Error(err);
  const ckr = ckrName(e.cause) ?? (typeof e.detail?.ckr === 'string' ? e.detail.ckr : undefined);
  return { code: e.code, message: e.message, ...(ckr ? { ckr } : {}) };
}

function replyTo(id: number): Reply {
  return (err, value) => {
    // A signature is its own small buffer: copying it costs less than transferring it.
    post(
      err === undefined
        ? { kind: 'response', id, ok: true, value }
        : { kind: 'response', id, ok: false, error: toWire(err) },
    );
  };
}

const scheduler = new Scheduler<{ sel: TokenSelector; req: SignRequest }>({
  get busy() {
    return driver.busy;
  },
  trySign: (r, preferPool, done) => driver.trySign(r.sel, r.req, preferPool, done),
});

let closing = false;
let pollQueued = false;
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

/** Polls run as barriers, between signatures; at most one waits in the queue. */
function queuePoll(): void {
  if (!pollQueued && !closing) {
    pollQueued = true;
    scheduler.barrier(
      () => {
        pollQueued = false;
        pollNow();
      },
      () => undefined,
    );
  }
}

const barriers: { [K in Exclude<OpName, 'sign' | 'shutdown'>]: (...args: never[]) => unknown } = {
  listSlots: () => driver.listSlots(),
  login: (sel: never, pin: never) => driver.login(sel, pin),
  logout: (sel: never) => driver.logout(sel),
  loginState: (sel: never) => driver.loginState(sel),
  certificates: (sel: never) => driver.certificates(sel),
};

port.on('message', (batch: RequestBatch) => {
  for (const msg of batch.requests) {
    accept(msg);
  }
});

/** Takes one request, in arrival order. */
function accept(msg: Request): void {
  const reply = replyTo(msg.id);
  if (closing) {
    reply(pkcs11Error('ERR_PKCS11_SHUTDOWN'));
    return;
  }
  switch (msg.op) {
    case 'sign': {
      const [sel, req] = msg.args as [TokenSelector, SignRequest];
      scheduler.sign({ sel, req }, reply);
      return;
    }
    case 'shutdown':
      // Queued behind every request already accepted; anything that arrives later is refused.
      closing = true;
      if (timer) {
        clearInterval(timer);
      }
      scheduler.barrier(
        () => driver.shutdown(),
        (err, value) => {
          reply(err, value);
          port?.close();
        },
      );
      return;
    default: {
      const handler = barriers[msg.op] as (...args: unknown[]) => unknown;
      scheduler.barrier(() => handler(...(msg.args as unknown[])), reply);
    }
  }
}

try {
  driver.load();
  post({ kind: 'ready' });
  if (init.pollIntervalMs > 0) {
    timer = setInterval(queuePoll, init.pollIntervalMs);
  }
} catch (err) {
  post({ kind: 'fatal', error: toWire(err) });
}
