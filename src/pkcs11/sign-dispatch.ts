/**
 * Signing dispatch: starts a signature on a free session ("lane", lanes.ts) of its token, either on the worker's
 * own thread or on the libuv pool, and counts what is in flight. The worker's scheduler (scheduler.ts) decides
 * when to ask; driver.ts owns the open tokens and says what a failure means.
 *
 * Rules it enforces:
 * - only allowlisted mechanisms sign: any other is ERR_PKCS11_MECHANISM_NOT_ALLOWED before the card is touched;
 * - a token must be logged in (ERR_PKCS11_NOT_LOGGED_IN otherwise); the PIN is never asked for here;
 * - one operation per session at a time, so no CKR_OPERATION_ACTIVE: a signature takes a free lane, opens one
 *   more while fewer than `sessions` are open, and otherwise does not start (the caller asks again after a
 *   signature returns);
 * - one session is always left for the worker's thread: the pool takes at most `sessions - 1` signatures of a
 *   token (or the lanes there are less one, once the module refused another session), and a signature goes
 *   there only when another waits behind it ({@link signsOnPool});
 * - a token whose card has gone starts nothing new; the last of its signatures to return drops its sessions;
 * - the result of a started signature reaches `done` exactly once; a failure known at once is thrown instead.
 */
import type { ServiceError } from '../errors.js';
import { mapPkcs11Error, pkcs11Error } from './errors.js';
import {
  mechanismOf,
  openLane,
  signOnLane,
  type Lane,
  type OpenToken,
  type Pkcs11Mechanism,
} from './lanes.js';
import type { SignRequest, TokenSelector } from './types.js';

/** The result of a signature started by {@link SignDispatch.trySign}. */
export type SignDone = (err: unknown, signature?: Uint8Array) => void;

/**
 * What the dispatch needs of the token bookkeeping (driver.ts).
 *
 * @example
 * ```ts
 * const host: SignHost = { token: (sel) => open(sel), failure: (o, cause) => mapPkcs11Error(cause), release: (o) => undefined };
 * ```
 */
export interface SignHost {
  /** The open token `sel` names, opened if need be; throws a mapped error if there is none. */
  token(sel: TokenSelector): OpenToken;
  /** Maps a failure on `o`; one that shows the card has gone marks `o` gone. */
  failure(o: OpenToken, cause: unknown): ServiceError;
  /** Drops the sessions of a gone token once none of its signatures is in flight. */
  release(o: OpenToken): void;
}

/**
 * Whether a signature goes to the libuv pool rather than this thread: only when another waits behind it
 * (`preferPool`) and fewer than `lanes - 1` of the token's signatures are on the pool already (one lane is
 * always left for this thread).
 *
 * @example
 * ```ts
 * signsOnPool(true, 0, 3); // true
 * signsOnPool(true, 2, 3); // false: both pool seats are taken
 * ```
 */
export function signsOnPool(preferPool: boolean, inFlight: number, lanes: number): boolean {
  return preferPool && inFlight < lanes - 1;
}

/**
 * The signatures of one module.
 *
 * @example
 * ```ts
 * const dispatch = new SignDispatch(host, { mechanisms: ['SHA256_RSA_PKCS'], sessions: 3 });
 * if (!dispatch.trySign(sel, req, true, (err, sig) => reply(err, sig))) waitForACompletion();
 * ```
 */
export class SignDispatch {
  readonly #host: SignHost;
  readonly #maxLanes: number;
  readonly #mechanisms: ReadonlySet<string>;
  #inFlight = 0;

  constructor(
    host: SignHost,
    opts: { readonly mechanisms: readonly string[]; readonly sessions?: number },
  ) {
    this.#host = host;
    this.#maxLanes = Math.max(1, Math.floor(opts.sessions ?? 1));
    this.#mechanisms = new Set(opts.mechanisms);
  }

  /** True while any signature is in flight on the pool. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /**
   * Starts a signature (C_SignInit + C_Sign with the private key whose CKA_ID is `req.keyId`) on a free
   * session of the token: on the libuv pool when {@link signsOnPool} says so (`done` is called later), else on
   * this thread (`done` is called before this returns). Returns false, having started nothing, when the token
   * is being dropped or has no free session. Failures known at once (mechanism not allowed, token not found,
   * not logged in, no such key) are thrown.
   *
   * @example
   * ```ts
   * if (!dispatch.trySign(sel, req, true, (err, sig) => reply(err, sig))) waitForACompletion();
   * ```
   */
  trySign(sel: TokenSelector, req: SignRequest, preferPool: boolean, done: SignDone): boolean {
    if (!this.#mechanisms.has(req.mechanism)) {
      throw pkcs11Error('ERR_PKCS11_MECHANISM_NOT_ALLOWED', {
        detail: { mechanism: req.mechanism },
      });
    }
    let mechanism: Pkcs11Mechanism;
    try {
      mechanism = mechanismOf(req.mechanism);
    } catch (cause) {
      throw mapPkcs11Error(cause);
    }
    const o = this.#host.token(sel);
    if (o.gone) {
      return false;
    }
    if (!o.loggedIn) {
      throw pkcs11Error('ERR_PKCS11_NOT_LOGGED_IN');
    }
    const lanes = o.full ? o.lanes.length : this.#maxLanes;
    const lane = this.#freeLane(o);
    if (lane === undefined) {
      return false;
    }
    if (!signsOnPool(preferPool, o.inFlight, lanes)) {
      let sig: Uint8Array | undefined;
      try {
        sig = signOnLane(lane, mechanism, req.keyId, req.data);
      } catch (cause) {
        throw this.#host.failure(o, cause);
      }
      done(undefined, sig);
      return true;
    }
    try {
      lane.busy = true;
      o.inFlight += 1;
      this.#inFlight += 1;
      signOnLane(lane, mechanism, req.keyId, req.data, (err, sig) => {
        this.#settle(o, lane);
        const failure = err === undefined ? undefined : this.#host.failure(o, err);
        if (o.gone) {
          this.#host.release(o);
        }
        done(failure, sig);
      });
    } catch (cause) {
      this.#settle(o, lane);
      throw this.#host.failure(o, cause);
    }
    return true;
  }

  #settle(o: OpenToken, lane: Lane): void {
    lane.busy = false;
    o.inFlight -= 1;
    this.#inFlight -= 1;
  }

  /** A free lane of the token, opening one more if allowed; undefined when all are busy. */
  #freeLane(o: OpenToken): Lane | undefined {
    const free = o.lanes.find((l) => !l.busy);
    if (free !== undefined || o.full || o.lanes.length >= this.#maxLanes) {
      return free;
    }
    const lane = openLane(o.slot);
    if (lane === undefined) {
      o.full = true;
      return undefined;
    }
    o.lanes.push(lane);
    return lane;
  }
}
