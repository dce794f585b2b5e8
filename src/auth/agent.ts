/**
 * The Identity Agent: one card, one Spine session, the Ticket API.
 *
 * Rules it enforces:
 * - the ticket lives in memory only, and is never logged;
 * - card removal destroys the ticket at once, cancels a login in progress and logs out at the broker
 *   (bounded by a short timeout, so the whole reaction takes well under a second);
 * - one role is selected automatically; with several, the user or the calling application chooses, and the
 *   ticket is released only once a role is selected;
 * - idle and maximum session times (from the broker's reply, minutes) are honoured on an injectable clock;
 * - getTicket with no session waits (up to the caller's timeout) for a login to complete; getTicketNoAuth
 *   never waits;
 * - every PIN goes through the PIN guard (docs/pin.md): back-off after wrong PINs, page-only tries after two
 *   of them or when the card has few tries left; a wrong PIN while a session lives is refused without ending
 *   it (the guard checks it against the live card login, with no C_Logout);
 * - the card login follows the Spine session: logout, destroyTicket, getNewTicket, expiry, removal and a
 *   failed login all end with C_Logout on the card, so signing needs the PIN again.
 */
import type { Logger } from 'pino';
import { isServiceError } from '../errors.js';
import type { EmitEvent, SessionEndReason } from '../events.js';
import {
  pkcs11Error,
  type CardEvent,
  type TokenPort,
  type TokenSelector,
} from '../pkcs11/index.js';
import { PinGuard, type PinSource, type PinStatus } from '../pin/index.js';
import { authError } from './errors.js';
import { newClientIdentity, runLogin } from './login-flow.js';
import type { SsbClient } from './ssb-client.js';
import type { ClientIdentity } from './wire/gpobject.js';
import type { AuthRole } from './wire/roles.js';

export type AgentState = 'no-card' | 'card-present' | 'logging-in' | 'role-required' | 'active';

export interface SessionStatus {
  readonly state: AgentState;
  readonly card?: { readonly label: string; readonly serial: string };
  readonly uid?: string;
  readonly name?: string;
  readonly roles: readonly AuthRole[];
  readonly selectedRole?: AuthRole;
  readonly sessionStartedAt?: string;
  readonly timeLeftSeconds?: number;
  readonly idleLeftSeconds?: number;
  /** The card's PIN state, for the page's warning (present with a card). */
  readonly pin?: PinStatus;
}

/** Options of {@link Agent.login}. */
export interface LoginOptions {
  readonly roleId?: string;
  /**
   * Where the PIN came from (default 'cli'). The routes decide it in one place (src/api/pin-source.ts); only
   * 'page' may try after wrong PINs or when the card has few tries left.
   */
  readonly from?: PinSource;
  /** The page showed the "few tries left" warning and the user went on. */
  readonly acknowledgeFinalTry?: boolean;
}

export interface AgentOptions {
  readonly port: TokenPort;
  readonly ssb: SsbClient;
  /** The card to use; default: the first card that appears. */
  readonly token?: TokenSelector;
  readonly loginHash?: 'SHA-1' | 'SHA-256';
  readonly now?: () => number;
  readonly logger: Logger;
  /** Local caps on the broker's session times, in minutes (configuration `sessionMaxMinutes`/`sessionIdleMinutes`). */
  readonly sessionCaps?: { readonly maxMinutes?: number; readonly idleMinutes?: number };
  /** Where card and session events go (src/events.ts; the agent's event bus). */
  readonly events?: EmitEvent;
  /** Timeout of the broker logout on card removal (default 800 ms). */
  readonly removalLogoutTimeoutMs?: number;
  /** The PIN guard shared with the signing service (default: one of its own). */
  readonly pins?: PinGuard;
}

interface Session {
  uid: string;
  name: string;
  ticket: string;
  roles: readonly AuthRole[];
  selected?: AuthRole;
  startedAt: number;
  lastUsed: number;
  maxMs: number;
  idleMs: number;
  identity: ClientIdentity;
}

interface Waiter {
  resolve(ticket: string): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/** The event's reason for one of #end's log reasons. */
function endReason(reason: string): SessionEndReason {
  const known: Record<string, SessionEndReason> = {
    'ticket destroyed': 'logout',
    'session expired': 'expired',
    'card removed': 'card-removed',
    'new login': 'new-login',
    'new ticket requested': 'new-ticket',
    'agent stopping': 'agent-stopping',
  };
  return known[reason] ?? 'other';
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #now: () => number;
  readonly #pins: PinGuard;
  readonly #ownPins: boolean;
  #card: { label: string; serial: string } | undefined;
  #session: Session | undefined;
  #login: AbortController | undefined;
  readonly #waiters = new Set<Waiter>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#pins = o.pins ?? new PinGuard({ port: o.port, now: this.#now });
    this.#ownPins = o.pins === undefined;
  }

  /** The PIN guard (shared with the signing service by the composition root). */
  get pins(): PinGuard {
    return this.#pins;
  }

  /** Finds the card if present and starts watching card events and session expiry. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#o.port.subscribe((e) => this.#onCardEvent(e));
    const slots = await this.#o.port.listSlots();
    const token = slots
      .map((s) => s.token)
      .find((t) => t && t.flags.tokenInitialized && this.#wanted(t));
    if (token) {
      this.#card = { label: token.label, serial: token.serial };
      this.#pins.noteFlags(token.serial, token.flags);
    }
    this.#timer = setInterval(() => void this.checkExpiry(), 1000);
    this.#timer.unref();
  }

  #wanted(t: { label: string; serial: string }): boolean {
    const sel = this.#o.token;
    if (!sel) {
      return this.#card === undefined || this.#card.serial === t.serial;
    }
    return 'label' in sel ? t.label === sel.label : t.serial === sel.serial;
  }

  #onCardEvent(e: CardEvent): void {
    if (e.type === 'inserted' && !this.#card && this.#wanted(e.token)) {
      this.#card = { label: e.token.label, serial: e.token.serial };
      this.#pins.noteFlags(e.token.serial, e.token.flags);
      this.#o.logger.info({ card: this.#card.label }, 'card inserted');
      this.#o.events?.({ type: 'card.inserted', card: { ...this.#card } });
      return;
    }
    if (
      (e.type === 'removed' || e.type === 'logged-out') &&
      this.#card?.serial === e.token.serial
    ) {
      this.#o.logger.info(
        { card: e.token.label, event: e.type },
        'card removed: ending the session',
      );
      if (e.type === 'removed') {
        this.#o.events?.({
          type: 'card.removed',
          card: { label: e.token.label, serial: e.token.serial },
        });
        this.#card = undefined;
      }
      this.#pins.forgetLogin(e.token.serial);
      void this.#end('card removed', pkcs11Error('ERR_PKCS11_CARD_REMOVED'), e.token.serial);
    }
  }

  status(): SessionStatus {
    const s = this.#session;
    const base = {
      ...(this.#card ? { card: { ...this.#card }, pin: this.#pins.status(this.#card.serial) } : {}),
    };
    if (this.#login) {
      return { state: 'logging-in', ...base, roles: [] };
    }
    if (!s) {
      return { state: this.#card ? 'card-present' : 'no-card', ...base, roles: [] };
    }
    const now = this.#now();
    return {
      state: s.selected ? 'active' : 'role-required',
      ...base,
      uid: s.uid,
      name: s.name,
      roles: s.roles,
      ...(s.selected ? { selectedRole: s.selected } : {}),
      sessionStartedAt: new Date(s.startedAt).toISOString(),
      timeLeftSeconds: Math.max(0, Math.round((s.startedAt + s.maxMs - now) / 1000)),
      idleLeftSeconds: Math.max(0, Math.round((s.lastUsed + s.idleMs - now) / 1000)),
    };
  }

  /** The card in use (for signing with the same card). */
  get card(): { label: string; serial: string } | undefined {
    return this.#card ? { ...this.#card } : undefined;
  }

  /**
   * Logs in with the card and PIN; selects `roleId` (or the only role). With a live session, the PIN is first
   * checked against the live card login (no C_Logout): a wrong one is refused and the session goes on; a right
   * one ends it and logs in afresh.
   */
  async login(pin: string, options: LoginOptions = {}): Promise<SessionStatus> {
    if (this.#login) {
      throw authError('ERR_LOGIN_IN_PROGRESS');
    }
    const card = this.#card;
    if (!card) {
      throw authError('ERR_SMARTCARD_NOT_PRESENT');
    }
    const pinTry = {
      from: options.from ?? 'cli',
      ...(options.acknowledgeFinalTry === true ? { acknowledgeFinalTry: true } : {}),
    } as const;
    if (this.#session) {
      await this.#pins.login(card, pin, pinTry);
      if (this.#login) {
        throw authError('ERR_LOGIN_IN_PROGRESS');
      }
      await this.#end('new login');
    }
    const abort = new AbortController();
    this.#login = abort;
    const identity = newClientIdentity();
    let cardLoggedIn = false;
    let result;
    try {
      result = await runLogin({
        port: this.#o.port,
        ssb: this.#o.ssb,
        token: { serial: card.serial },
        cardLogin: async () => {
          await this.#pins.login(card, pin, pinTry);
          cardLoggedIn = true;
        },
        hash: this.#o.loginHash ?? 'SHA-1',
        identity,
        signal: abort.signal,
      });
    } catch (err) {
      if (cardLoggedIn) {
        // No Spine session came of it: the card login must not stay behind.
        await this.#cardLogout(card.serial);
      }
      throw err;
    } finally {
      this.#login = undefined;
    }
    const now = this.#now();
    const session: Session = {
      uid: result.uid,
      name: result.name,
      ticket: result.ticket,
      roles: result.roles,
      startedAt: now,
      lastUsed: now,
      maxMs:
        Math.min(result.maxSessionMinutes, this.#o.sessionCaps?.maxMinutes ?? Infinity) * 60_000,
      idleMs: Math.min(result.idleMinutes, this.#o.sessionCaps?.idleMinutes ?? Infinity) * 60_000,
      identity,
    };
    if (abort.signal.aborted || this.#card?.serial !== card.serial) {
      // The card went while the broker answered: the session must not outlive it.
      await this.#brokerLogout(session);
      await this.#cardLogout(card.serial);
      throw authError('ERR_USER_ABORT');
    }
    if (result.roles.length === 0) {
      await this.#brokerLogout(session);
      await this.#cardLogout(card.serial);
      throw authError('ERR_NO_ROLES');
    }
    this.#session = session;
    this.#o.logger.info({ uid: result.uid, roles: result.roles.length }, 'logged in');
    this.#o.events?.({ type: 'session.login', uid: result.uid, roles: result.roles.length });
    const roleId = options.roleId ?? (result.roles.length === 1 ? result.roles[0]?.id : undefined);
    if (roleId) {
      await this.selectRole(roleId);
    }
    return this.status();
  }

  async selectRole(roleId: string): Promise<SessionStatus> {
    const s = this.#session;
    if (!s) {
      throw authError('ERR_TICKET_NOT_AVAILABLE');
    }
    const role = s.roles.find((r) => r.id === roleId);
    if (!role) {
      throw authError('ERR_ROLE_UNKNOWN');
    }
    await this.#o.ssb.selectRole(s.ticket, roleId);
    s.selected = role;
    s.lastUsed = this.#now();
    this.#o.logger.info({ uid: s.uid, role: role.id }, 'role selected');
    this.#o.events?.({ type: 'session.role', uid: s.uid, roleId: role.id });
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.resolve(s.ticket);
    }
    this.#waiters.clear();
    return this.status();
  }

  /** getTicketNoAuth: the ticket of the current session, never waiting or prompting. */
  getTicketNoAuth(): string {
    this.checkExpiry();
    const s = this.#session;
    if (!s?.selected) {
      throw authError('ERR_TICKET_NOT_AVAILABLE');
    }
    s.lastUsed = this.#now();
    return s.ticket;
  }

  /** getTicket: the ticket, or wait up to `timeoutMs` for a login (from the agent page or `rxsign login`). */
  getTicket(timeoutMs: number): Promise<string> {
    try {
      return Promise.resolve(this.getTicketNoAuth());
    } catch {
      // wait below
    }
    if (timeoutMs <= 0) {
      return Promise.reject(authError('ERR_TICKET_NOT_AVAILABLE'));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(w);
          reject(authError('ERR_TICKET_NOT_AVAILABLE', { detail: { reason: 'timeout' } }));
        }, timeoutMs),
      };
      this.#waiters.add(w);
    });
  }

  /** getNewTicket: ends the current session and waits for a fresh login. */
  async getNewTicket(timeoutMs: number): Promise<string> {
    await this.#end('new ticket requested');
    return this.getTicket(timeoutMs);
  }

  /** destroyTicket: logs out at the broker and forgets the ticket. */
  async destroyTicket(): Promise<void> {
    await this.#end('ticket destroyed');
  }

  /** Ends a session past its idle or maximum time. */
  checkExpiry(): void {
    const s = this.#session;
    if (!s) {
      return;
    }
    const now = this.#now();
    if (now >= s.startedAt + s.maxMs || now >= s.lastUsed + s.idleMs) {
      void this.#end('session expired');
    }
  }

  async #brokerLogout(s: Session): Promise<void> {
    try {
      await this.#o.ssb.logout(
        { ...s.identity, ticket: s.ticket, uid: s.uid },
        this.#o.removalLogoutTimeoutMs ?? 800,
      );
    } catch (err) {
      this.#o.logger.warn(
        { code: isServiceError(err) ? err.code : 'unknown' },
        'broker logout failed; the session will expire there',
      );
    }
  }

  /** C_Logout on the card, best effort (a card that has gone is logged out already). */
  async #cardLogout(serial: string): Promise<void> {
    try {
      await this.#pins.logout({ serial });
    } catch (err) {
      this.#o.logger.warn(
        { code: isServiceError(err) ? err.code : 'unknown' },
        'card logout failed',
      );
    }
  }

  async #end(
    reason: string,
    loginError?: unknown,
    serial: string | undefined = this.#card?.serial,
  ): Promise<void> {
    this.#login?.abort(loginError ?? authError('ERR_USER_ABORT'));
    const s = this.#session;
    this.#session = undefined; // the ticket is gone from this moment
    if (s) {
      this.#o.logger.info({ uid: s.uid, reason }, 'session ended');
      this.#o.events?.({ type: 'session.ended', uid: s.uid, reason: endReason(reason) });
    }
    // The card login ends with the Spine session, before the broker is told (which may take a while).
    if (serial !== undefined) {
      await this.#cardLogout(serial);
    }
    if (s) {
      await this.#brokerLogout(s);
    }
  }

  /** Logs out at the broker, stops watching. */
  async close(): Promise<void> {
    if (this.#timer) {
      clearInterval(this.#timer);
    }
    this.#unsubscribe?.();
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(authError('ERR_USER_ABORT'));
    }
    this.#waiters.clear();
    await this.#end('agent stopping');
    if (this.#ownPins) {
      this.#pins.close();
    }
  }
}
