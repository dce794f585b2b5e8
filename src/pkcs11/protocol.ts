/**
 * Messages between the service (worker-port.ts) and the PKCS#11 worker thread (worker.ts).
 * Plain structured-clone data only.
 */
import type {
  CardCertificate,
  CardEvent,
  LoginState,
  SignRequest,
  SlotInfo,
  TokenSelector,
} from './types.js';

export interface WorkerInit {
  readonly modulePath: string;
  readonly mechanisms: readonly string[];
  readonly pollIntervalMs: number;
  /** Sessions per token for parallel signatures (1: one session, every call on the worker's thread). */
  readonly sessions: number;
}

export interface Ops {
  listSlots: { args: []; result: SlotInfo[] };
  login: { args: [TokenSelector, string]; result: void };
  logout: { args: [TokenSelector]; result: void };
  loginState: { args: [TokenSelector]; result: LoginState };
  certificates: { args: [TokenSelector]; result: CardCertificate[] };
  sign: { args: [TokenSelector, SignRequest]; result: Uint8Array };
  poll: { args: []; result: void };
  shutdown: { args: []; result: void };
}

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
  | { readonly kind: 'response'; readonly id: number; readonly ok: false; readonly error: WireError };

export type WorkerMessage =
  | Response
  | { readonly kind: 'event'; readonly event: CardEvent }
  | { readonly kind: 'ready' }
  | { readonly kind: 'fatal'; readonly error: WireError };
