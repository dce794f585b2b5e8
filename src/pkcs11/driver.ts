/**
 * The token bookkeeping over graphene-pk11: the module and the tokens with open sessions, wired to the parts
 * that act on them. It runs inside the PKCS#11 worker thread (worker.ts), where graphene's synchronous calls
 * may block without stalling the service's event loop.
 *
 * By concept: slot scan (slot-scan.ts), login and what a refused PIN means (login.ts), the card's certificates
 * (certificates.ts), signing lanes (lanes.ts), signing dispatch (sign-dispatch.ts), card polling
 * (card-poll.ts, deciding by card-watch.ts); this file loads the module, opens and drops the tokens' sessions,
 * says what a failure means for a token, and shuts down.
 *
 * Rules it enforces:
 * - the module is initialised with CKF_OS_LOCKING_OK (SoftHSM disables its mutexes otherwise; with it, a
 *   module may be called from several threads at once); CKR_CRYPTOKI_ALREADY_INITIALIZED is tolerated;
 * - tokens are found by label or serial, never by slot id (SoftHSM renumbers slots);
 * - a token has one main session, opened when first named; its login state is read from the module then,
 *   not assumed (another application may have logged it in);
 * - every method except {@link Pkcs11Driver.trySign} is a barrier: the worker's scheduler calls it only when
 *   no signature is in flight ({@link Pkcs11Driver.busy} is false), so a login, logout, poll, re-initialise
 *   or shutdown never runs beside a C_Sign;
 * - a failure that shows the card has gone (the token no longer answers C_GetTokenInfo) drops the sessions and
 *   the login, at once or, while other signatures of that token are in flight, when the last one returns; the
 *   next poll re-initialises the module (card-poll.ts);
 * - shutdown runs logout → close session → finalize, each step tolerant of a card that has already gone
 *   (PKCS#11 v2.40 §5.4, §5.6).
 */
import { existsSync } from 'node:fs';
import * as graphene from 'graphene-pk11';
import type { ServiceError } from '../errors.js';
import { CardPoller } from './card-poll.js';
import { cardCertificates } from './certificates.js';
import * as pkcs11js from './constants.js';
import { CARD_GONE_CODES, mapPkcs11Error, pkcs11Error } from './errors.js';
import { openToken, type OpenToken } from './lanes.js';
import { logIn, logOut, readLoginState } from './login.js';
import { SignDispatch, type SignDone } from './sign-dispatch.js';
import { findToken, holdsToken, matches, scanSlots } from './slot-scan.js';
import type {
  CardCertificate,
  CardEvent,
  LoginState,
  SignRequest,
  SlotInfo,
  TokenSelector,
} from './types.js';

export interface DriverOptions {
  readonly modulePath: string;
  readonly mechanisms: readonly string[];
  /** Sessions per token used to sign in parallel (1 = the main session only, every C_Sign on this thread). */
  readonly sessions?: number;
}

export class Pkcs11Driver {
  readonly #modulePath: string;
  #module: graphene.Module | undefined;
  readonly #open = new Map<string, OpenToken>(); // by serial
  readonly #dispatch: SignDispatch;
  readonly #poller: CardPoller;

  constructor(opts: DriverOptions) {
    this.#modulePath = opts.modulePath;
    this.#dispatch = new SignDispatch(
      {
        token: (sel) => this.#session(sel),
        failure: (o, cause) => this.#failure(o, cause),
        release: (o) => this.#release(o),
      },
      opts,
    );
    this.#poller = new CardPoller({
      openTokens: () => [...this.#open.values()],
      scan: () => scanSlots(this.#mod()),
      drop: (serial) => this.#drop(serial),
      restart: () => this.#restart(),
    });
  }

  /** True while any signature is in flight: barrier calls must wait. */
  get busy(): boolean {
    return this.#dispatch.busy;
  }

  /** Loads and initialises the module. */
  load(): void {
    if (!existsSync(this.#modulePath)) {
      throw pkcs11Error('ERR_PKCS11_MODULE_NOT_FOUND', { detail: { module: this.#modulePath } });
    }
    try {
      this.#module = graphene.Module.load(this.#modulePath);
      this.#module.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (cause) {
      throw pkcs11Error('ERR_PKCS11_MODULE_LOAD_FAILED', {
        cause,
        detail: { module: this.#modulePath },
      });
    }
    this.#poller.start();
  }

  #mod(): graphene.Module {
    if (!this.#module) {
      throw pkcs11Error('ERR_PKCS11_SHUTDOWN');
    }
    return this.#module;
  }

  /** Every slot with its token (if any). A token whose info cannot be read is reported as absent. */
  listSlots(): SlotInfo[] {
    return scanSlots(this.#mod()).slots;
  }

  /** The open token `sel` names, its main session opened if it has none. */
  #session(sel: TokenSelector): OpenToken {
    for (const o of this.#open.values()) {
      if (matches(o.info, sel)) {
        return o;
      }
    }
    const { slot, info } = findToken(this.#mod(), sel);
    let open: OpenToken;
    try {
      open = openToken(slot, info);
    } catch (cause) {
      throw mapPkcs11Error(cause);
    }
    this.#open.set(info.serial, open);
    return open;
  }

  /** Runs `fn` on the token's main session; failures are mapped, and a gone card is forgotten. */
  #withSession<T>(sel: TokenSelector, fn: (o: OpenToken) => T): T {
    const o = this.#session(sel);
    try {
      return fn(o);
    } catch (cause) {
      throw this.#failure(o, cause);
    }
  }

  /** Maps a failure on token `o`; one that shows the card has gone marks the token lost. */
  #failure(o: OpenToken, cause: unknown): ServiceError {
    const err = mapPkcs11Error(cause);
    if (CARD_GONE_CODES.has(err.code) || err.code === 'ERR_PKCS11_KEY_NOT_FOUND') {
      // Was it the card? Probe it (C_GetTokenInfo, safe beside a C_Sign): a token that no longer answers is gone.
      if (o.gone || !holdsToken(o.slot, o.info.serial)) {
        o.gone = true;
        this.#poller.lose(o.info.serial);
        this.#release(o);
        return pkcs11Error('ERR_PKCS11_CARD_REMOVED', { cause });
      }
    }
    if (err.code === 'ERR_PKCS11_NOT_LOGGED_IN') {
      o.loggedIn = false;
    }
    return err;
  }

  /** Drops a gone token's sessions once none of its signatures is in flight (and it is still the open one). */
  #release(o: OpenToken): void {
    if (o.inFlight === 0 && this.#open.get(o.info.serial) === o) {
      this.#drop(o.info.serial);
    }
  }

  #drop(serial: string): void {
    const o = this.#open.get(serial);
    this.#open.delete(serial);
    for (const lane of o?.lanes ?? []) {
      try {
        lane.session.close();
      } catch {
        // the session died with the card
      }
    }
  }

  /** Drops every token's sessions, then C_Finalize + C_Initialize (card-poll.ts decides when). */
  #restart(): void {
    for (const serial of [...this.#open.keys()]) {
      this.#drop(serial);
    }
    const mod = this.#mod();
    try {
      mod.finalize();
    } catch {
      // a module in a bad state may refuse; initialise anyway
    }
    mod.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  }

  /** C_Login(CKU_USER) with the PIN, exactly once (login.ts). */
  login(sel: TokenSelector, pin: string): void {
    this.#withSession(sel, (o) => logIn(o, pin));
  }

  logout(sel: TokenSelector): void {
    const o = [...this.#open.values()].find((x) => matches(x.info, sel));
    if (o) {
      logOut(o);
    }
  }

  loginState(sel: TokenSelector): LoginState {
    return this.#withSession(sel, readLoginState);
  }

  /** Certificates on the card, paired with keys by CKA_ID and classified by keyUsage (certificates.ts). */
  certificates(sel: TokenSelector): CardCertificate[] {
    return this.#withSession(sel, (o) => cardCertificates(o.session));
  }

  /**
   * Starts a signature on a free session of the token (sign-dispatch.ts): false if it cannot start yet.
   *
   * @example
   * ```ts
   * if (!driver.trySign(sel, req, true, (err, sig) => reply(err, sig))) waitForACompletion();
   * ```
   */
  trySign(sel: TokenSelector, req: SignRequest, preferPool: boolean, done: SignDone): boolean {
    return this.#dispatch.trySign(sel, req, preferPool, done);
  }

  /** One poll: the card events since the last one (card-poll.ts). */
  poll(): CardEvent[] {
    return this.#poller.poll();
  }

  /** Logout → close → finalize, each step tolerant of a card that has already gone. */
  shutdown(): void {
    for (const serial of [...this.#open.keys()]) {
      const o = this.#open.get(serial);
      if (o?.loggedIn) {
        logOut(o); // tolerant of a card that has gone
      }
      this.#drop(serial);
    }
    if (this.#module) {
      try {
        this.#module.finalize();
      } catch {
        // already finalised
      }
      try {
        this.#module.close();
      } catch {
        // already closed
      }
      this.#module = undefined;
    }
  }
}
