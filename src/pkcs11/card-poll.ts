/**
 * Card polling: one poll scans the slots, turns the difference from the last poll into card events
 * (card-watch.ts decides them) and applies it to the open tokens; it re-initialises the module when a card has
 * vanished in a way the module cannot recover from by itself. The worker runs a poll as a barrier, never
 * beside a C_Sign (scheduler.ts); driver.ts does the I/O this file asks for.
 *
 * Rules it enforces:
 * - a token that vanished with an error (SoftHSM: its folder was removed), or a scan that could not read a
 *   slot or the slot list, makes the next poll re-initialise the module (C_Finalize + C_Initialize), so that
 *   the card is served again when it returns; while such a token stays away the module is re-initialised at
 *   every poll, but never at the cost of another card's live login ({@link mustReinitialise});
 * - a re-initialise closes every session: each login it ends on a known token is reported `logged-out`;
 * - a removed token's sessions and login are dropped;
 * - a token whose session vanished (CKR_SESSION_HANDLE_INVALID) while the token stayed has lost its login: its
 *   sessions are dropped and `logged-out` is reported;
 * - the cards present when the module is loaded are the starting point: no event is reported for them.
 */
import { watchCards } from './card-watch.js';
import type { OpenToken } from './lanes.js';
import { isLoggedIn } from './login.js';
import { presentTokens } from './slot-scan.js';
import type { CardEvent, SlotInfo, TokenInfo } from './types.js';

/**
 * What the poller needs of the token bookkeeping (driver.ts).
 *
 * @example
 * ```ts
 * const host: PollHost = { openTokens: () => [...open.values()], scan: () => scanSlots(mod), drop, restart };
 * ```
 */
export interface PollHost {
  /** The tokens with open sessions. */
  openTokens(): readonly OpenToken[];
  /** One pass over the slots: the slot list, and whether a slot claims a token it cannot read. */
  scan(): { slots: SlotInfo[]; unreadable: boolean };
  /** Closes a token's sessions and forgets it. */
  drop(serial: string): void;
  /** Drops every open token, then C_Finalize + C_Initialize. */
  restart(): void;
}

/**
 * Whether this poll re-initialises the module: when a failure asked for it, or while a token that vanished
 * with an error is away and no card is logged in (some modules, SoftHSM among them, see a returned token only
 * after C_Finalize + C_Initialize, which would end every login).
 *
 * @example
 * ```ts
 * mustReinitialise({ asked: false, lostAway: 1, anyLogin: true }); // false: another card's login is live
 * ```
 */
export function mustReinitialise(s: {
  readonly asked: boolean;
  readonly lostAway: number;
  readonly anyLogin: boolean;
}): boolean {
  return s.asked || (s.lostAway > 0 && !s.anyLogin);
}

/**
 * The card poller of one module.
 *
 * @example
 * ```ts
 * const poller = new CardPoller(host);
 * poller.start();
 * for (const event of poller.poll()) post(event);
 * ```
 */
export class CardPoller {
  readonly #host: PollHost;
  /** By serial: the tokens the last poll saw. */
  #known = new Map<string, TokenInfo>();
  #needsReinit = false;
  /** Tokens that vanished with an error: the module must be re-initialised to see them come back. */
  readonly #lost = new Set<string>();

  constructor(host: PollHost) {
    this.#host = host;
  }

  /** Takes the tokens present now as known (the module has just been loaded). */
  start(): void {
    this.#known = presentTokens(this.#host.scan().slots);
  }

  /** A failure showed that the card of `serial` has gone: re-initialise at the next poll. */
  lose(serial: string): void {
    this.#needsReinit = true;
    this.#lost.add(serial);
  }

  /**
   * One poll: compares the tokens present now with the last poll and returns the events. A module that lost a
   * token with an error is re-initialised first (all sessions are then gone: their logins are reported lost).
   */
  poll(): CardEvent[] {
    const events: CardEvent[] = [];
    const anyLogin = this.#host.openTokens().some((o) => o.loggedIn);
    if (mustReinitialise({ asked: this.#needsReinit, lostAway: this.#lost.size, anyLogin })) {
      this.#reinitialise(events);
    }
    let now: Map<string, TokenInfo>;
    try {
      const scan = this.#host.scan();
      now = presentTokens(scan.slots);
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
      this.#host.drop(serial);
    }
    for (const serial of change.lost) {
      this.#lost.add(serial);
    }
    for (const serial of now.keys()) {
      this.#lost.delete(serial);
    }
    events.push(...change.events);
    for (const o of this.#host.openTokens()) {
      if (o.loggedIn && !sessionAlive(o)) {
        this.#host.drop(o.info.serial);
        events.push({ type: 'logged-out', token: { label: o.info.label, serial: o.info.serial } });
      }
    }
    this.#known = now;
    return events;
  }

  #reinitialise(events: CardEvent[]): void {
    for (const o of this.#host.openTokens()) {
      if (o.loggedIn && this.#known.has(o.info.serial)) {
        events.push({ type: 'logged-out', token: { label: o.info.label, serial: o.info.serial } });
      }
    }
    this.#host.restart();
    this.#needsReinit = false;
  }
}

function sessionAlive(o: OpenToken): boolean {
  try {
    return isLoggedIn(o.session);
  } catch {
    return false;
  }
}
