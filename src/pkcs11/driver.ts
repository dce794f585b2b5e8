/**
 * The token bookkeeping over graphene-pk11 (with lanes.ts and slot-scan.ts, the only files that talk to it).
 * It runs inside the PKCS#11 worker thread (worker.ts), where graphene's synchronous calls may block without
 * stalling the service's event loop.
 *
 * By concept: slot scan (slot-scan.ts), what a refused PIN means (login.ts), card watching as a pure function
 * of the known and present tokens (card-watch.ts), signing lanes (lanes.ts); this file holds the open
 * sessions and runs login, logout, signing dispatch and polling over them.
 *
 * Rules it enforces:
 * - the module is initialised with CKF_OS_LOCKING_OK (SoftHSM disables its mutexes otherwise; with it, a
 *   module may be called from several threads at once); CKR_CRYPTOKI_ALREADY_INITIALIZED is tolerated;
 * - tokens are found by label or serial, never by slot id (SoftHSM renumbers slots);
 * - a token has a main session and up to `sessions - 1` more, opened on demand to sign in parallel
 *   (lanes.ts); one operation per session at a time, so no CKR_OPERATION_ACTIVE;
 * - every method except {@link Pkcs11Driver.trySign} is a barrier: the worker's scheduler calls it only when
 *   no signature is in flight ({@link Pkcs11Driver.busy} is false), so a login, logout, poll, re-initialise
 *   or shutdown never runs beside a C_Sign;
 * - a PIN is tried exactly once (never retried on the user's behalf) and never stored;
 * - CKR_USER_ALREADY_LOGGED_IN is not trusted as proof of the PIN: login logs out and in again;
 * - only allowlisted mechanisms sign;
 * - a failure that shows the card has gone drops the sessions and the login; while other signatures of that
 *   token are still in flight, no new one starts on it and the last one to return drops them;
 * - a module whose token vanished with an error (SoftHSM: its folder was removed) is re-initialised
 *   (C_Finalize + C_Initialize) so that the card is served again when it returns.
 */
import { existsSync } from 'node:fs';
import * as graphene from 'graphene-pk11';
import type { ServiceError } from '../errors.js';
import * as pkcs11js from './constants.js';
import { watchCards } from './card-watch.js';
import { CARD_GONE_CODES, ckrName, mapPkcs11Error, pkcs11Error } from './errors.js';
import { keyUsageOf, purposeOf } from './key-usage.js';
import { pinError } from './login.js';
import {
  laneOf,
  mechanismOf,
  openLane,
  signOnLane,
  type Lane,
  type Pkcs11Mechanism,
} from './lanes.js';
import { findToken, matches, presentTokens, scanSlots, tokenInfoOf, trim } from './slot-scan.js';
import type {
  CardCertificate,
  CardEvent,
  LoginState,
  SignRequest,
  SlotInfo,
  TokenInfo,
  TokenSelector,
} from './types.js';

interface Open {
  readonly slot: graphene.Slot;
  /** The main session (lanes[0].session). */
  readonly session: graphene.Session;
  /** lanes[0] wraps the main session; the others sign only. */
  readonly lanes: Lane[];
  readonly info: TokenInfo;
  loggedIn: boolean;
  /** Signatures of this token in flight on the pool. */
  inFlight: number;
  /** A signature showed the card has gone: nothing new starts here; the last one in flight drops it. */
  gone: boolean;
  /** The module refused another session: sign with the lanes there are. */
  full: boolean;
}

export interface DriverOptions {
  readonly modulePath: string;
  readonly mechanisms: readonly string[];
  /** Sessions per token used to sign in parallel (1 = the main session only, every C_Sign on this thread). */
  readonly sessions?: number;
}

/** The result of a signature started by {@link Pkcs11Driver.trySign}. */
export type SignDone = (err: unknown, signature?: Uint8Array) => void;

export class Pkcs11Driver {
  readonly #opts: DriverOptions;
  #module: graphene.Module | undefined;
  readonly #open = new Map<string, Open>(); // by serial
  #known = new Map<string, TokenInfo>(); // by serial: what the poller last saw
  #needsReinit = false;
  /** Tokens that vanished with an error: the module must be re-initialised to see them come back. */
  readonly #lost = new Set<string>();
  readonly #maxLanes: number;
  readonly #mechanisms: ReadonlySet<string>;
  #inFlight = 0;

  constructor(opts: DriverOptions) {
    this.#opts = opts;
    this.#maxLanes = Math.max(1, Math.floor(opts.sessions ?? 1));
    this.#mechanisms = new Set(opts.mechanisms);
  }

  /** True while any signature is in flight: barrier calls must wait. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /** Loads and initialises the module. */
  load(): void {
    if (!existsSync(this.#opts.modulePath)) {
      throw pkcs11Error('ERR_PKCS11_MODULE_NOT_FOUND', {
        detail: { module: this.#opts.modulePath },
      });
    }
    try {
      this.#module = graphene.Module.load(this.#opts.modulePath);
      this.#module.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (cause) {
      throw pkcs11Error('ERR_PKCS11_MODULE_LOAD_FAILED', {
        cause,
        detail: { module: this.#opts.modulePath },
      });
    }
    this.#known = this.#presentTokens();
  }

  #mod(): graphene.Module {
    if (!this.#module) {
      throw pkcs11Error('ERR_PKCS11_SHUTDOWN');
    }
    return this.#module;
  }

  /** Every slot with its token (if any). A token whose info cannot be read is reported as absent. */
  listSlots(): SlotInfo[] {
    return this.#scan().slots;
  }

  /** One pass over the slots: the slot list, and whether a slot claims a token it cannot read. */
  #scan(): { slots: SlotInfo[]; unreadable: boolean } {
    return scanSlots(this.#mod());
  }

  #presentTokens(slots: SlotInfo[] = this.listSlots()): Map<string, TokenInfo> {
    return presentTokens(slots);
  }

  #find(sel: TokenSelector): { slot: graphene.Slot; info: TokenInfo } {
    return findToken(this.#mod(), sel);
  }

  #session(sel: TokenSelector): Open {
    for (const o of this.#open.values()) {
      if (matches(o.info, sel)) {
        return o;
      }
    }
    const { slot, info } = this.#find(sel);
    try {
      const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
      const open: Open = {
        slot,
        session,
        lanes: [laneOf(session)],
        info,
        loggedIn: false,
        inFlight: 0,
        gone: false,
        full: false,
      };
      // Another application may have logged the token in already: read the real state, not a cached flag.
      open.loggedIn = this.#sessionLoggedIn(session);
      this.#open.set(info.serial, open);
      return open;
    } catch (cause) {
      throw mapPkcs11Error(cause);
    }
  }

  #sessionLoggedIn(session: graphene.Session): boolean {
    // graphene caches the session state at open: ask the module (C_GetSessionInfo) every time.
    const state = session.lib.C_GetSessionInfo(session.handle).state;
    return state === pkcs11js.CKS_RO_USER_FUNCTIONS || state === pkcs11js.CKS_RW_USER_FUNCTIONS;
  }

  /** Runs `fn` on the token's main session; failures are mapped, and a gone card is forgotten. */
  #withSession<T>(sel: TokenSelector, fn: (o: Open) => T): T {
    const o = this.#session(sel);
    try {
      return fn(o);
    } catch (cause) {
      throw this.#failure(o, cause);
    }
  }

  /** Maps a failure on token `o`; one that shows the card has gone marks the token lost (see {@link #lose}). */
  #failure(o: Open, cause: unknown): ServiceError {
    const err = mapPkcs11Error(cause);
    if (CARD_GONE_CODES.has(err.code) || err.code === 'ERR_PKCS11_KEY_NOT_FOUND') {
      // Was it the card? Probe it (C_GetTokenInfo, safe beside a C_Sign): a token that no longer answers is gone.
      if (o.gone || !this.#stillPresent(o)) {
        this.#lose(o);
        return pkcs11Error('ERR_PKCS11_CARD_REMOVED', { cause });
      }
    }
    if (err.code === 'ERR_PKCS11_NOT_LOGGED_IN') {
      o.loggedIn = false;
    }
    return err;
  }

  /** The card has gone: its sessions are dropped now, or by the last of its signatures still in flight. */
  #lose(o: Open): void {
    o.gone = true;
    this.#needsReinit = true;
    this.#lost.add(o.info.serial);
    if (o.inFlight === 0 && this.#open.get(o.info.serial) === o) {
      this.#drop(o.info.serial);
    }
  }

  #stillPresent(o: Open): boolean {
    try {
      const info = tokenInfoOf(o.slot);
      return info.serial === o.info.serial;
    } catch {
      return false;
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

  #forgetKeys(o: Open): void {
    for (const lane of o.lanes) {
      lane.keys.clear();
    }
  }

  /**
   * C_Login(CKU_USER) with the PIN, exactly once. On CKR_PIN_INCORRECT the token flags choose between
   * incorrect / count low / final try / locked.
   */
  login(sel: TokenSelector, pin: string): void {
    this.#withSession(sel, (o) => {
      if (o.loggedIn || this.#sessionLoggedIn(o.session)) {
        // Logging in again proves the PIN (PIN-per-signature policies rely on that).
        try {
          o.session.logout();
        } catch {
          // already logged out elsewhere
        }
        o.loggedIn = false;
        this.#forgetKeys(o);
      }
      try {
        o.session.login(pin, graphene.UserType.USER);
      } catch (cause) {
        const err = mapPkcs11Error(cause);
        if (err.code === 'ERR_PKCS11_PIN_INCORRECT' || err.code === 'ERR_PKCS11_PIN_LOCKED') {
          throw this.#pinError(o, cause);
        }
        if (err.code === 'ERR_PKCS11_INTERNAL' && ckrName(cause) === 'CKR_USER_ALREADY_LOGGED_IN') {
          o.loggedIn = true;
          return;
        }
        throw cause;
      }
      o.loggedIn = true;
    });
  }

  #pinError(o: Open, cause: unknown) {
    let flags = o.info.flags;
    try {
      flags = tokenInfoOf(o.slot).flags;
    } catch {
      // keep the last flags we saw
    }
    return pinError(flags, cause);
  }

  logout(sel: TokenSelector): void {
    const o = [...this.#open.values()].find((x) => matches(x.info, sel));
    if (!o) {
      return;
    }
    try {
      o.session.logout();
    } catch {
      // not logged in, or the card has gone: either way the login is over
    }
    o.loggedIn = false;
    this.#forgetKeys(o);
  }

  loginState(sel: TokenSelector): LoginState {
    return this.#withSession(sel, (o) => {
      o.loggedIn = this.#sessionLoggedIn(o.session);
      return o.loggedIn ? 'logged-in' : 'logged-out';
    });
  }

  /** Certificates on the card, paired with keys by CKA_ID and classified by keyUsage. */
  certificates(sel: TokenSelector): CardCertificate[] {
    return this.#withSession(sel, (o) => {
      const ids = (cls: graphene.ObjectClass) => {
        const found = o.session.find({ class: cls });
        const set = new Set<string>();
        for (let i = 0; i < found.length; i++) {
          set.add(
            Buffer.from(found.items(i).getAttribute({ id: null }).id ?? Buffer.alloc(0)).toString(
              'hex',
            ),
          );
        }
        return set;
      };
      const priv = ids(graphene.ObjectClass.PRIVATE_KEY);
      const pub = ids(graphene.ObjectClass.PUBLIC_KEY);
      const certs = o.session.find({ class: graphene.ObjectClass.CERTIFICATE });
      const out: CardCertificate[] = [];
      for (let i = 0; i < certs.length; i++) {
        const c = certs.items(i).toType<graphene.X509Certificate>();
        const id = Buffer.from(c.id ?? Buffer.alloc(0)).toString('hex');
        const der = new Uint8Array(c.value);
        const keyUsage = keyUsageOf(der);
        out.push({
          id,
          label: trim(c.label ?? ''),
          der,
          purpose: purposeOf(keyUsage),
          keyUsage,
          hasPrivateKey: priv.has(id),
          hasPublicKey: pub.has(id),
        });
      }
      return out;
    });
  }

  /**
   * Starts a signature (C_SignInit + C_Sign with the private key whose CKA_ID is `req.keyId`) on a free
   * session of the token: on the libuv pool when `preferPool` and fewer than `sessions - 1` of the token's
   * signatures are there already (`done` is called later), else on this thread (`done` is called before this
   * returns). Returns false, having started nothing, when the token is being dropped or has no free session:
   * call again after a signature returns. Failures known at once (mechanism not allowed, token not found, not
   * logged in, no such key) are thrown; `done` gets the result of a started signature exactly once.
   *
   * @example
   * ```ts
   * if (!driver.trySign(sel, req, true, (err, sig) => reply(err, sig))) waitForACompletion();
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
    const o = this.#session(sel);
    if (o.gone) {
      return false;
    }
    if (!o.loggedIn) {
      throw pkcs11Error('ERR_PKCS11_NOT_LOGGED_IN');
    }
    // One session is always left for this thread: the pool gets at most all the others.
    const poolSeats = (o.full ? o.lanes.length : this.#maxLanes) - 1;
    const lane = this.#freeLane(o);
    if (lane === undefined) {
      return false;
    }
    if (!preferPool || o.inFlight >= poolSeats) {
      let sig: Uint8Array | undefined;
      try {
        sig = signOnLane(lane, mechanism, req.keyId, req.data);
      } catch (cause) {
        throw this.#failure(o, cause);
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
        const failure = err === undefined ? undefined : this.#failure(o, err);
        if (o.gone && o.inFlight === 0 && this.#open.get(o.info.serial) === o) {
          this.#drop(o.info.serial);
        }
        done(failure, sig);
      });
    } catch (cause) {
      this.#settle(o, lane);
      throw this.#failure(o, cause);
    }
    return true;
  }

  #settle(o: Open, lane: Lane): void {
    lane.busy = false;
    o.inFlight -= 1;
    this.#inFlight -= 1;
  }

  /** A free lane of the token, opening one more if allowed; undefined when all are busy. */
  #freeLane(o: Open): Lane | undefined {
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

  /**
   * One poll: compares the tokens present now with the last poll and returns the events. A module that lost a
   * token with an error is re-initialised first (all sessions are then gone: their logins are reported lost).
   */
  poll(): CardEvent[] {
    const events: CardEvent[] = [];
    const anyLogin = [...this.#open.values()].some((o) => o.loggedIn);
    // Some modules (SoftHSM among them) only see a returned token after C_Finalize + C_Initialize. Keep
    // re-initialising while a lost token is away, but never at the cost of another card's live login.
    if (this.#needsReinit || (this.#lost.size > 0 && !anyLogin)) {
      this.#reinitialise(events);
    }
    let now: Map<string, TokenInfo>;
    try {
      const scan = this.#scan();
      now = this.#presentTokens(scan.slots);
      // A slot that reports a token but cannot read it: the module must be re-initialised to see it again.
      if (scan.unreadable) {
        this.#needsReinit = true;
      }
    } catch {
      this.#needsReinit = true;
      now = new Map();
    }
    const change = watchCards(this.#known, now, this.#needsReinit);
    for (const serial of change.removed) {
      this.#drop(serial);
    }
    for (const serial of change.lost) {
      this.#lost.add(serial);
    }
    for (const serial of now.keys()) {
      this.#lost.delete(serial);
    }
    events.push(...change.events);
    // A session that vanished (CKR_SESSION_HANDLE_INVALID) while the token stayed: the login is lost.
    for (const o of this.#open.values()) {
      if (o.loggedIn && !this.#sessionAlive(o)) {
        this.#drop(o.info.serial);
        events.push({ type: 'logged-out', token: { label: o.info.label, serial: o.info.serial } });
      }
    }
    this.#known = now;
    return events;
  }

  #sessionAlive(o: Open): boolean {
    try {
      return this.#sessionLoggedIn(o.session);
    } catch {
      return false;
    }
  }

  #reinitialise(events: CardEvent[]): void {
    for (const o of [...this.#open.values()]) {
      if (o.loggedIn && this.#known.has(o.info.serial)) {
        events.push({ type: 'logged-out', token: { label: o.info.label, serial: o.info.serial } });
      }
      this.#drop(o.info.serial);
    }
    const mod = this.#mod();
    try {
      mod.finalize();
    } catch {
      // a module in a bad state may refuse; initialise anyway
    }
    mod.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    this.#needsReinit = false;
  }

  /** Logout → close → finalize, each step tolerant of a card that has already gone. */
  shutdown(): void {
    for (const serial of [...this.#open.keys()]) {
      const o = this.#open.get(serial);
      if (o?.loggedIn) {
        try {
          o.session.logout();
        } catch {
          // gone already
        }
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
