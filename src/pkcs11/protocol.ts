/**
 * Messages between the service (worker-port.ts) and the PKCS#11 worker thread (worker.ts).
 * Plain structured-clone data only.
 */
import type { TokenPort } from './port.js';
import type { CardEvent } from './types.js';

export interface WorkerInit {
  readonly modulePath: string;
  readonly mechanisms: readonly string[];
  readonly pollIntervalMs: number;
  /** Sessions per token for parallel signatures (1: one session, every call on the worker's thread). */
  readonly sessions: number;
}

/** The port's calls that cross to the worker: every {@link TokenPort} method but the local ones. */
type PortOp = Exclude<keyof TokenPort, 'subscribe' | 'close'>;

/** Each request's arguments and result, read off {@link TokenPort}; `shutdown` is the worker's end of `close`. */
export type Ops = {
  [K in PortOp]: { args: Parameters<TokenPort[K]>; result: Awaited<ReturnType<TokenPort[K]>> };
} & { shutdown: { args: []; result: void } };

export type OpName = keyof Ops;

export interface Request<K extends OpName = OpName> {
  readonly kind: 'request';
  readonly id: number;
  readonly op: K;
  readonly args: Ops[K]['args'];
}

/**
 * What the service posts: the requests made in one turn of its event loop, in order (one message and one
 * cross-thread wake-up for a burst of requests instead of one each).
 */
export interface RequestBatch {
  readonly kind: 'requests';
  readonly requests: readonly Request[];
}

/** A typed error carried across the thread boundary (code + message; the cause's text stays in the worker's log). */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly ckr?: string;
}

export type Response =
  | { readonly kind: 'response'; readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly kind: 'response';
      readonly id: number;
      readonly ok: false;
      readonly error: WireError;
    };

export type WorkerMessage =
  | Response
  | { readonly kind: 'event'; readonly event: CardEvent }
  | { readonly kind: 'ready' }
  | { readonly kind: 'fatal'; readonly error: WireError };
