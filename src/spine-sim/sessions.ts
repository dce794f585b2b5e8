/**
 * In-memory SSO sessions, modelled on Sun Access Manager (docs/protocol/cis-login.md §2, §6).
 *
 * Rules this file enforces:
 * - Lifetimes are in MINUTES, as Sun AM `maxtime`/`maxidle` are; `timeidle`/`timeleft` are reported in
 *   SECONDS, as AM reports them. Every time comes from the injected clock (Unix ms).
 * - A session is valid while `now − createdAt < maxtime` and `now − lastAccess < maxidle`; once either limit is
 *   passed it is invalid for good (state `invalid`), and it is then forgotten.
 * - Only explicit refreshes (`touch`) reset the idle timer; a validity check (`peek`) does not
 *   (compare AM `am_sso_refresh_token` vs `am_sso_validate_token`, [ORA] gcjep).
 * - Tickets are Access-Manager shaped: `AQIC5wM2LY4S` + base64(32 random bytes) + `@AAJTSQACMDE=#`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SimRole, SimUser } from './users.js';

export interface SessionLimits {
  /** Maximum session time in minutes (AM `maxtime`; `sso_max_session_time`). Default 600. */
  readonly maxSessionMinutes: number;
  /** Maximum idle time in minutes (AM `maxidle`; `sso_session_time`). Default 600. */
  readonly maxIdleMinutes: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxSessionMinutes: 600,
  maxIdleMinutes: 600,
};

export interface SimSession {
  readonly ticket: string;
  readonly user: SimUser;
  /** The roles offered at login (empty under the zero-roles fault). */
  readonly roles: readonly SimRole[];
  readonly createdAt: number;
  lastAccess: number;
  selectedRoleUid?: string;
  ssbMode: string;
  readonly clientIp: string;
}

/** What tests and the admin route see: no ticket, only its fingerprint. */
export interface SessionView {
  readonly ticketSha256: string;
  readonly uid: string;
  readonly selectedRoleUid: string | null;
  readonly timeIdleSeconds: number;
  readonly timeLeftSeconds: number;
}

/**
 * Makes an Access-Manager-shaped ticket.
 *
 * @example
 * ```ts
 * newTicket(); // 'AQIC5wM2LY4S…=@AAJTSQACMDE=#'
 * ```
 */
export function newTicket(): string {
  return `AQIC5wM2LY4S${randomBytes(32).toString('base64')}@AAJTSQACMDE=#`;
}

/**
 * A short, non-reversible name for a ticket, fit for logs and the admin view.
 *
 * @example
 * ```ts
 * ticketFingerprint(ticket); // 'a3f1…' (16 hex)
 * ```
 */
export function ticketFingerprint(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex').slice(0, 16);
}

/** The session store. */
export class SessionStore {
  readonly #sessions = new Map<string, SimSession>();
  readonly #now: () => number;
  readonly limits: SessionLimits;

  constructor(now: () => number, limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
    this.#now = now;
    this.limits = limits;
  }

  create(user: SimUser, roles: readonly SimRole[], clientIp: string): SimSession {
    const now = this.#now();
    const s: SimSession = {
      ticket: newTicket(),
      user,
      roles,
      createdAt: now,
      lastAccess: now,
      ssbMode: '0',
      clientIp,
    };
    this.#sessions.set(s.ticket, s);
    return s;
  }

  #live(ticket: string): SimSession | undefined {
    const s = this.#sessions.get(ticket);
    if (s === undefined) {
      return undefined;
    }
    const now = this.#now();
    if (
      now - s.createdAt >= this.limits.maxSessionMinutes * 60_000 ||
      now - s.lastAccess >= this.limits.maxIdleMinutes * 60_000
    ) {
      this.#sessions.delete(ticket);
      return undefined;
    }
    return s;
  }

  /** The valid session for a ticket, without resetting its idle timer. */
  peek(ticket: string): SimSession | undefined {
    return this.#live(ticket);
  }

  /** The valid session for a ticket, resetting its idle timer. */
  touch(ticket: string): SimSession | undefined {
    const s = this.#live(ticket);
    if (s !== undefined) {
      s.lastAccess = this.#now();
    }
    return s;
  }

  /** Ends a session; true if it existed. */
  destroy(ticket: string): boolean {
    return this.#sessions.delete(ticket);
  }

  timeIdleSeconds(s: SimSession): number {
    return Math.max(0, Math.floor((this.#now() - s.lastAccess) / 1000));
  }

  timeLeftSeconds(s: SimSession): number {
    const bySession = s.createdAt + this.limits.maxSessionMinutes * 60_000;
    const byIdle = s.lastAccess + this.limits.maxIdleMinutes * 60_000;
    return Math.max(0, Math.floor((Math.min(bySession, byIdle) - this.#now()) / 1000));
  }

  list(): SessionView[] {
    const out: SessionView[] = [];
    for (const ticket of [...this.#sessions.keys()]) {
      const s = this.#live(ticket);
      if (s !== undefined) {
        out.push({
          ticketSha256: ticketFingerprint(s.ticket),
          uid: s.user.uid,
          selectedRoleUid: s.selectedRoleUid ?? null,
          timeIdleSeconds: this.timeIdleSeconds(s),
          timeLeftSeconds: this.timeLeftSeconds(s),
        });
      }
    }
    return out;
  }
}
