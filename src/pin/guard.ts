/**
 * The PIN guard: every PIN that may reach a card goes through here (docs/pin.md).
 *
 * Rules:
 * - one PIN try at a time per card (by serial); a try waits for the one before it;
 * - a wrong PIN starts a back-off (1 s, 2 s, 4 s … up to 5 min, per card): tries within it are refused with
 *   ERR_PIN_BACKOFF and `retryAfterMs`, without touching the card;
 * - after two wrong PINs in a row, only the agent's page may try (ERR_PIN_PAGE_ONLY) until a PIN is accepted;
 * - when the token reports CKF_USER_PIN_COUNT_LOW or CKF_USER_PIN_FINAL_TRY (PKCS#11 v2.40 §3.2, CK_TOKEN_INFO),
 *   only the page may try, and only with `acknowledgeFinalTry` (ERR_PIN_ACK_REQUIRED): the page shows the
 *   warning first. A locked card is refused (ERR_PKCS11_PIN_LOCKED) without a C_Login;
 * - a PIN for a card that is already logged in by this agent is checked against the PIN that logged it in
 *   (an HMAC under a random key made at start, kept in memory only while the card is logged in), so a wrong
 *   PIN is refused without C_Logout and the live login goes on: PKCS#11 C_Login on a logged-in token answers
 *   CKR_USER_ALREADY_LOGGED_IN without checking the PIN, and the only way to make the card check it is
 *   C_Logout first, which a wrong PIN would turn into the end of the user's session. `reauthenticate` (the
 *   per-signature PIN policy) makes the card check it every time instead;
 * - counters live in memory per card serial and start from zero when the agent starts (never persisted).
 * The PIN itself is never stored, logged or put into an error.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { fromTable, isServiceError } from '../errors.js';
import { PKCS11_ERRORS, type TokenFlags, type TokenPort } from '../pkcs11/index.js';
import { pinError } from './errors.js';

/**
 * Where a PIN came from: the agent's own page, the CLI (a local program with no Origin), or a web
 * application's page on another allowed origin. Only 'page' is trusted to show the user a warning.
 */
export type PinSource = 'page' | 'cli' | 'app';

/** What the page reads to warn the user before a PIN try (status `pin`). */
export interface PinStatus {
  /** The token reports CKF_USER_PIN_COUNT_LOW (or a wrong PIN said so). */
  readonly triesLow: boolean;
  /** The token reports CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks the card. */
  readonly finalTry: boolean;
  /** The token reports CKF_USER_PIN_LOCKED. */
  readonly locked: boolean;
  /** PINs from anywhere but the agent's page are refused (wrong PINs, or few tries left). */
  readonly apiLoginBlocked: boolean;
  /** Time until the next try is accepted (0: now). */
  readonly retryAfterMs: number;
  /** Wrong PINs in a row since the last accepted one (this agent's count, not the card's). */
  readonly failures: number;
}

/** One PIN try. */
export interface PinTry {
  readonly from: PinSource;
  /** The user saw the page's warning that the card has few tries left. */
  readonly acknowledgeFinalTry?: boolean;
  /** Make the card check the PIN even if it is logged in (C_Logout + C_Login: per-signature PIN policy). */
  readonly reauthenticate?: boolean;
}

export interface PinGuardOptions {
  readonly port: TokenPort;
  readonly now?: () => number;
  /** First back-off (default 1000 ms); each further wrong PIN doubles it. */
  readonly baseDelayMs?: number;
  /** Longest back-off (default 300 000 ms). */
  readonly maxDelayMs?: number;
  /** Wrong PINs after which only the page may try (default 2). */
  readonly apiFailureLimit?: number;
}

interface CardState {
  failures: number;
  nextAt: number;
  apiBlocked: boolean;
  countLow: boolean;
  finalTry: boolean;
  locked: boolean;
  /** HMAC of the PIN that logged the card in, while it is logged in. */
  verifier: Buffer | undefined;
  queue: Promise<unknown>;
}

const PIN_ERROR_CODES = new Set([
  'ERR_PKCS11_PIN_INCORRECT',
  'ERR_PKCS11_PIN_COUNT_LOW',
  'ERR_PKCS11_PIN_FINAL_TRY',
  'ERR_PKCS11_PIN_LOCKED',
]);

/**
 * See the module comment.
 *
 * @example
 * ```ts
 * const pins = new PinGuard({ port });
 * await pins.login({ serial }, pin, { from: 'page' });
 * pins.status(serial); // { triesLow: false, finalTry: false, locked: false, apiLoginBlocked: false, … }
 * ```
 */
export class PinGuard {
  readonly #port: TokenPort;
  readonly #now: () => number;
  readonly #base: number;
  readonly #max: number;
  readonly #limit: number;
  readonly #key = randomBytes(32);
  readonly #cards = new Map<string, CardState>();
  readonly #listeners = new Set<(serial: string) => void>();
  readonly #unsubscribe: () => void;

  constructor(o: PinGuardOptions) {
    this.#port = o.port;
    this.#now = o.now ?? Date.now;
    this.#base = o.baseDelayMs ?? 1000;
    this.#max = o.maxDelayMs ?? 300_000;
    this.#limit = o.apiFailureLimit ?? 2;
    this.#unsubscribe = o.port.subscribe((e) => {
      if (e.type === 'removed' || e.type === 'logged-out') {
        this.forgetLogin(e.token.serial);
      } else {
        this.noteFlags(e.token.serial, e.token.flags);
      }
    });
  }

  /** Stops following the port's card events. */
  close(): void {
    this.#unsubscribe();
  }

  #state(serial: string): CardState {
    let s = this.#cards.get(serial);
    if (s === undefined) {
      s = {
        failures: 0,
        nextAt: 0,
        apiBlocked: false,
        countLow: false,
        finalTry: false,
        locked: false,
        verifier: undefined,
        queue: Promise.resolve(),
      };
      this.#cards.set(serial, s);
    }
    return s;
  }

  #mac(pin: string): Buffer {
    return createHmac('sha256', this.#key).update(pin, 'utf8').digest();
  }

  /** The page's view of one card's PIN state. */
  status(serial: string): PinStatus {
    const s = this.#cards.get(serial);
    if (s === undefined) {
      return {
        triesLow: false,
        finalTry: false,
        locked: false,
        apiLoginBlocked: false,
        retryAfterMs: 0,
        failures: 0,
      };
    }
    return {
      triesLow: s.countLow,
      finalTry: s.finalTry,
      locked: s.locked,
      apiLoginBlocked: s.apiBlocked || s.countLow || s.finalTry || s.locked,
      retryAfterMs: Math.max(0, s.nextAt - this.#now()),
      failures: s.failures,
    };
  }

  /** Takes the PIN flags from a CK_TOKEN_INFO the caller already read (card inserted, slot listing). */
  noteFlags(serial: string, flags: TokenFlags): void {
    const s = this.#state(serial);
    s.countLow = flags.userPinCountLow;
    s.finalTry = flags.userPinFinalTry;
    s.locked = flags.userPinLocked;
  }

  /** Called with the card's serial whenever this guard logged the card out (or a PIN try did). */
  onLoggedOut(listener: (serial: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #loggedOut(serial: string): void {
    for (const l of this.#listeners) {
      l(serial);
    }
  }

  /**
   * Logs the card in with `pin`, or checks `pin` against the live login (see the module comment). Rejects
   * with ERR_PIN_* before the card is touched, or with the card's own ERR_PKCS11_PIN_* answer.
   */
  login(card: { readonly serial: string }, pin: string, t: PinTry): Promise<void> {
    const s = this.#state(card.serial);
    const run = s.queue.then(
      () => this.#try(card.serial, s, pin, t),
      () => this.#try(card.serial, s, pin, t),
    );
    s.queue = run.catch(() => undefined);
    return run;
  }

  async #try(serial: string, s: CardState, pin: string, t: PinTry): Promise<void> {
    const now = this.#now();
    if (now < s.nextAt) {
      throw pinError('ERR_PIN_BACKOFF', { detail: { retryAfterMs: s.nextAt - now } });
    }
    if (s.apiBlocked && t.from !== 'page') {
      throw pinError('ERR_PIN_PAGE_ONLY', { detail: { reason: 'wrong-pins' } });
    }
    // The verifier is dropped at every logout, removal and lost login (card events), so while it is here the
    // card is logged in with that PIN. No token call here: a login-state query is a barrier on the token.
    if (s.verifier !== undefined && t.reauthenticate !== true) {
      if (timingSafeEqual(this.#mac(pin), s.verifier)) {
        this.#accepted(s);
        return;
      }
      this.#failed(s);
      throw fromTable(PKCS11_ERRORS, 'ERR_PKCS11_PIN_INCORRECT', {
        detail: { checkedAgainst: 'live-login' },
      });
    }
    await this.#readFlags(serial, s);
    if (s.locked) {
      throw fromTable(PKCS11_ERRORS, 'ERR_PKCS11_PIN_LOCKED');
    }
    if (s.countLow || s.finalTry) {
      if (t.from !== 'page') {
        throw pinError('ERR_PIN_PAGE_ONLY', {
          detail: { reason: s.finalTry ? 'final-try' : 'tries-low' },
        });
      }
      if (t.acknowledgeFinalTry !== true) {
        throw pinError('ERR_PIN_ACK_REQUIRED', {
          detail: { reason: s.finalTry ? 'final-try' : 'tries-low' },
        });
      }
    }
    const wasLoggedIn = s.verifier !== undefined;
    s.verifier = undefined;
    try {
      await this.#port.login({ serial }, pin);
    } catch (err) {
      if (isServiceError(err) && PIN_ERROR_CODES.has(err.code)) {
        this.#failed(s);
        s.countLow ||= err.code === 'ERR_PKCS11_PIN_COUNT_LOW';
        s.finalTry ||= err.code === 'ERR_PKCS11_PIN_FINAL_TRY';
        s.locked ||= err.code === 'ERR_PKCS11_PIN_LOCKED';
        // The driver logged a logged-in card out before it tried the PIN (reauthentication).
        this.#loggedOut(serial);
      } else if (wasLoggedIn) {
        this.#loggedOut(serial);
      }
      throw err;
    }
    s.verifier = this.#mac(pin);
    s.countLow = false;
    s.finalTry = false;
    this.#accepted(s);
  }

  async #readFlags(serial: string, s: CardState): Promise<void> {
    try {
      const token = (await this.#port.listSlots())
        .map((x) => x.token)
        .find((x) => x?.serial === serial);
      if (token !== undefined) {
        s.countLow ||= token.flags.userPinCountLow;
        s.finalTry ||= token.flags.userPinFinalTry;
        s.locked ||= token.flags.userPinLocked;
      }
    } catch {
      // the C_Login below meets the same fault and reports it
    }
  }

  #failed(s: CardState): void {
    s.failures += 1;
    const delay = Math.min(this.#max, this.#base * 2 ** Math.min(30, s.failures - 1));
    s.nextAt = this.#now() + delay;
    if (s.failures >= this.#limit) {
      s.apiBlocked = true;
    }
  }

  #accepted(s: CardState): void {
    s.failures = 0;
    s.nextAt = 0;
    s.apiBlocked = false;
  }

  /** C_Logout on the card (the end of the Spine session); forgets the live login's PIN check. */
  async logout(card: { readonly serial: string }): Promise<void> {
    const s = this.#state(card.serial);
    s.verifier = undefined;
    try {
      await this.#port.logout({ serial: card.serial });
    } finally {
      this.#loggedOut(card.serial);
    }
  }

  /** The card went (removed, or its login was lost): its login is over, the counters stay. */
  forgetLogin(serial: string): void {
    const s = this.#cards.get(serial);
    if (s !== undefined) {
      s.verifier = undefined;
    }
  }
}
