/**
 * The real {@link TokenPort}: a worker thread owns the PKCS#11 module (see worker.ts) and this class is its
 * typed, promise-based front. Every request has a timeout; every pending request is settled when the worker
 * exits, so a caller never hangs.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ServiceError } from '../errors.js';
import { PKCS11_ERRORS, pkcs11Error, type Pkcs11ErrorCode } from './errors.js';
import type { TokenPort } from './port.js';
import type {
  OpName,
  Ops,
  Request,
  RequestBatch,
  WireError,
  WorkerInit,
  WorkerMessage,
} from './protocol.js';
import {
  DEFAULT_MECHANISMS,
  type CardCertificate,
  type CardEvent,
  type LoginState,
  type SignRequest,
  type SlotInfo,
  type TokenSelector,
} from './types.js';

export interface WorkerPortOptions {
  /** Path of the PKCS#11 module (any vendor's). */
  readonly modulePath: string;
  /** Card poll interval; 0 disables polling. Default 500 ms. */
  readonly pollIntervalMs?: number;
  /** Allowed signing mechanisms. Default: SHA256_RSA_PKCS, SHA1_RSA_PKCS, RSA_PKCS. */
  readonly mechanisms?: readonly string[];
  /** Per-call timeout. Default 30 s (a PIN pad can be slow). */
  readonly callTimeoutMs?: number;
  /**
   * Sessions per token that sign in parallel, 1–8. Default {@link DEFAULT_SESSIONS}. A smartcard signs one
   * thing at a time whatever this is; HSM-like modules (SoftHSM) sign in parallel. The worker's thread signs
   * on one session; every other signature in flight holds a libuv pool thread (4 by default, shared with file
   * I/O such as the audit log's fsync), so keep it small.
   */
  readonly sessions?: number;
}

/**
 * Sessions per token by default: the worker's thread and one pool thread sign in parallel on an HSM-like
 * module, and three of the libuv pool's four threads stay free for file I/O.
 *
 * @example
 * ```ts
 * await openTokenPort({ modulePath, sessions: DEFAULT_SESSIONS });
 * ```
 */
export const DEFAULT_SESSIONS = 2;

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/** Where the compiled worker is: beside this file in dist/, or in dist/ when this file runs from source (tests). */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) {
    return fileURLToPath(new URL('./worker.js', import.meta.url));
  }
  return fileURLToPath(new URL('../../dist/src/pkcs11/worker.js', import.meta.url));
}

function fromWire(e: WireError): ServiceError {
  const code = (e.code in PKCS11_ERRORS ? e.code : 'ERR_PKCS11_INTERNAL') as Pkcs11ErrorCode;
  return pkcs11Error(code, e.ckr ? { detail: { ckr: e.ckr } } : {});
}

/**
 * Starts the worker, loads and initialises the module; resolves when the module is ready.
 *
 * @example
 * ```ts
 * const port = await openTokenPort({ modulePath: '/usr/lib/softhsm/libsofthsm2.so' });
 * await port.login({ label: 'prescriber' }, pin);
 * const sig = await port.sign({ label: 'prescriber' }, { keyId: '02', mechanism: 'SHA256_RSA_PKCS', data });
 * await port.close();
 * ```
 */
export async function openTokenPort(options: WorkerPortOptions): Promise<TokenPort> {
  if (!existsSync(options.modulePath)) {
    throw pkcs11Error('ERR_PKCS11_MODULE_NOT_FOUND', { detail: { module: options.modulePath } });
  }
  const file = workerPath();
  if (!existsSync(file)) {
    throw pkcs11Error('ERR_PKCS11_INTERNAL', {
      detail: { reason: 'the PKCS#11 worker is not built (run npm run build)', file },
    });
  }
  const init: WorkerInit = {
    modulePath: options.modulePath,
    mechanisms: options.mechanisms ?? DEFAULT_MECHANISMS,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    sessions: Math.min(8, Math.max(1, Math.floor(options.sessions ?? DEFAULT_SESSIONS))),
  };
  const port = new WorkerTokenPort(
    // The worker allocates little (handles and buffers): a small young generation keeps its heap small
    // (a per-user agent's resident memory: README "Benchmarks"). Only the young generation is limited: an
    // old-generation limit would end the worker when reached.
    new Worker(file, { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: 4 } }),
    options.callTimeoutMs ?? 30_000,
  );
  await port.ready;
  return port;
}

class WorkerTokenPort implements TokenPort {
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(e: CardEvent) => void>();
  #nextId = 1;
  /** Requests made in this turn of the event loop, posted together at its check phase. */
  #outbox: Request[] = [];
  #state: 'starting' | 'open' | 'closing' | 'closed' = 'starting';
  #closed: Promise<void> | undefined;

  constructor(worker: Worker, timeoutMs: number) {
    this.#worker = worker;
    this.#timeoutMs = timeoutMs;
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerMessage) => {
        switch (msg.kind) {
          case 'ready':
            this.#state = 'open';
            resolve();
            return;
          case 'fatal':
            this.#state = 'closed';
            reject(fromWire(msg.error));
            void worker.terminate();
            return;
          case 'event':
            for (const l of this.#listeners) {
              l(msg.event);
            }
            return;
          case 'response': {
            const p = this.#pending.get(msg.id);
            if (!p) {
              return;
            }
            this.#pending.delete(msg.id);
            clearTimeout(p.timer);
            if (msg.ok) {
              p.resolve(msg.value);
            } else {
              p.reject(fromWire(msg.error));
            }
            return;
          }
        }
      });
      worker.on('error', (cause) => {
        reject(pkcs11Error('ERR_PKCS11_INTERNAL', { cause }));
      });
      worker.on('exit', () => {
        this.#state = 'closed';
        this.#failAll('ERR_PKCS11_SHUTDOWN');
        reject(pkcs11Error('ERR_PKCS11_SHUTDOWN'));
      });
    });
  }

  #failAll(code: Pkcs11ErrorCode): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(pkcs11Error(code));
      this.#pending.delete(id);
    }
  }

  #call<K extends OpName>(
    op: K,
    args: Ops[K]['args'],
    timeoutMs = this.#timeoutMs,
  ): Promise<Ops[K]['result']> {
    if (this.#state !== 'open' && op !== 'shutdown') {
      return Promise.reject(pkcs11Error('ERR_PKCS11_SHUTDOWN'));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(pkcs11Error('ERR_PKCS11_TIMEOUT', { detail: { op } }));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#post({ kind: 'request', id, op, args } as Request);
    });
  }

  /**
   * Queues a request; the requests of one event-loop turn go to the worker in one message at the check phase
   * (every wake-up of another thread costs CPU on both sides; concurrent HTTP requests arrive in one poll
   * phase). A request with nothing else outstanding goes at once.
   */
  #post(request: Request): void {
    if (this.#outbox.length === 0 && this.#pending.size === 1) {
      // Nothing else outstanding: a lone caller should not wait for the check phase.
      this.#worker.postMessage({ kind: 'requests', requests: [request] } satisfies RequestBatch);
      return;
    }
    this.#outbox.push(request);
    if (this.#outbox.length === 1) {
      setImmediate(() => {
        const requests = this.#outbox;
        this.#outbox = [];
        this.#worker.postMessage({ kind: 'requests', requests } satisfies RequestBatch);
      });
    }
  }

  listSlots(): Promise<SlotInfo[]> {
    return this.#call('listSlots', []);
  }

  login(token: TokenSelector, pin: string): Promise<void> {
    return this.#call('login', [token, pin]);
  }

  logout(token: TokenSelector): Promise<void> {
    return this.#call('logout', [token]);
  }

  loginState(token: TokenSelector): Promise<LoginState> {
    return this.#call('loginState', [token]);
  }

  certificates(token: TokenSelector): Promise<CardCertificate[]> {
    return this.#call('certificates', [token]);
  }

  sign(token: TokenSelector, request: SignRequest): Promise<Uint8Array> {
    // Copy the caller's bytes before handing them to another thread (the caller may reuse its buffer).
    const data = new Uint8Array(request.data);
    return this.#call('sign', [
      token,
      { keyId: request.keyId, mechanism: request.mechanism, data },
    ]);
  }

  subscribe(listener: (event: CardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    if (this.#closed) {
      return this.#closed;
    }
    if (this.#state !== 'open') {
      this.#closed = this.#worker.terminate().then(() => undefined);
      return this.#closed;
    }
    this.#state = 'closing';
    // The shutdown request queues behind every request already sent, so accepted work finishes first.
    this.#closed = this.#call('shutdown', [], 10_000)
      .catch(() => undefined)
      .then(async () => {
        this.#state = 'closed';
        await this.#worker.terminate();
        this.#failAll('ERR_PKCS11_SHUTDOWN');
      });
    return this.#closed;
  }
}
