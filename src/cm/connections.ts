/**
 * Classic ASP.NET SignalR 2 long-polling connections, the subset NHS Credential Management's browser library
 * uses (docs/cm.md §2).
 *
 * Rules:
 * - a connection token is 256 random bits, made by /negotiate and bound to the Origin that negotiated it:
 *   the same token from another origin is unknown (403), so a token is useless to any other page;
 * - a connection not used for `idleMs` is forgotten (the library opens a new connection per signing and
 *   never stops the old one); at most `maxConnections` live at once (the oldest idle one goes first);
 * - the message cursor `C` only grows; the hub never sends server→client messages, so every poll answers
 *   an empty `M` with `L` (the client waits `L` ms before polling again), which keeps abandoned connections
 *   from holding the browser's six connections per host.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface Connection {
  readonly token: string;
  readonly id: string;
  readonly origin: string;
  lastSeen: number;
  cursor: number;
}

export interface ConnectionTableOptions {
  readonly idleMs: number;
  readonly maxConnections: number;
  readonly now?: () => number;
}

export class ConnectionTable {
  readonly #byToken = new Map<string, Connection>();
  readonly #o: ConnectionTableOptions;
  readonly #now: () => number;

  constructor(o: ConnectionTableOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** A new connection for `origin`. */
  open(origin: string): Connection {
    this.sweep();
    while (this.#byToken.size >= this.#o.maxConnections) {
      const oldest = [...this.#byToken.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0];
      if (!oldest) {
        break;
      }
      this.#byToken.delete(oldest.token);
    }
    const c: Connection = {
      token: randomBytes(32).toString('base64'),
      id: randomUUID(),
      origin,
      lastSeen: this.#now(),
      cursor: 0,
    };
    this.#byToken.set(c.token, c);
    return c;
  }

  /** The live connection of `token` for `origin`, touched; undefined when unknown, expired or foreign. */
  use(token: string | undefined, origin: string): Connection | undefined {
    if (token === undefined) {
      return undefined;
    }
    const c = this.#byToken.get(token);
    if (!c) {
      return undefined;
    }
    if (this.#now() - c.lastSeen > this.#o.idleMs) {
      this.#byToken.delete(token);
      return undefined;
    }
    if (c.origin !== origin) {
      return undefined;
    }
    c.lastSeen = this.#now();
    return c;
  }

  close(token: string | undefined, origin: string): void {
    if (token !== undefined && this.#byToken.get(token)?.origin === origin) {
      this.#byToken.delete(token);
    }
  }

  /** Forgets every connection idle for longer than `idleMs`. */
  sweep(): void {
    const limit = this.#now() - this.#o.idleMs;
    for (const [t, c] of this.#byToken) {
      if (c.lastSeen < limit) {
        this.#byToken.delete(t);
      }
    }
  }

  get size(): number {
    return this.#byToken.size;
  }

  clear(): void {
    this.#byToken.clear();
  }
}
