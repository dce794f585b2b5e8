/**
 * An in-memory storage adapter for oidc-provider (its adapter interface, docs: "Adapter"), one per simulator
 * instance, so that two simulators in one process never share sessions. Entries expire with their
 * `expiresIn`; nothing is written to disk (a simulator restart forgets every session, as a test double should).
 */
interface Entry {
  payload: Record<string, unknown>;
  expiresAt: number;
}

/** The storage behind every model of one simulator. */
export class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get(key: string): Record<string, unknown> | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) {
      return undefined;
    }
    if (e.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.payload;
  }

  set(key: string, payload: Record<string, unknown>, expiresInS: number | undefined): void {
    this.#entries.set(key, {
      payload,
      expiresAt: expiresInS === undefined ? Infinity : this.#now() + expiresInS * 1000,
    });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** The keys of `model`'s entries (`*`: every model) whose payload matches. */
  find(model: string, match: (p: Record<string, unknown>) => boolean): string[] {
    const out: string[] = [];
    for (const key of this.#entries.keys()) {
      if (model === '*' || key.startsWith(`${model}:`)) {
        const p = this.get(key);
        if (p !== undefined && match(p)) {
          out.push(key);
        }
      }
    }
    return out;
  }

  /** Drops expired entries (called on a timer). */
  sweep(): void {
    const now = this.#now();
    for (const [k, e] of this.#entries) {
      if (e.expiresAt <= now) {
        this.#entries.delete(k);
      }
    }
  }
}

/**
 * The adapter class oidc-provider instantiates per model name.
 *
 * @example
 * ```ts
 * new Provider(issuer, { adapter: adapterFor(new MemoryStore()) });
 * ```
 */
export function adapterFor(store: MemoryStore) {
  return class Adapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    #key(id: string): string {
      return `${this.#model}:${id}`;
    }

    upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
      store.set(this.#key(id), payload, expiresIn);
      return Promise.resolve();
    }

    find(id: string): Promise<Record<string, unknown> | undefined> {
      return Promise.resolve(store.get(this.#key(id)));
    }

    findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
      const key = store.find(this.#model, (p) => p.userCode === userCode)[0];
      return Promise.resolve(key === undefined ? undefined : store.get(key));
    }

    findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      const key = store.find(this.#model, (p) => p.uid === uid)[0];
      return Promise.resolve(key === undefined ? undefined : store.get(key));
    }

    consume(id: string): Promise<void> {
      const p = store.get(this.#key(id));
      if (p !== undefined) {
        p.consumed = Math.floor(Date.now() / 1000);
      }
      return Promise.resolve();
    }

    destroy(id: string): Promise<void> {
      store.delete(this.#key(id));
      return Promise.resolve();
    }

    revokeByGrantId(grantId: string): Promise<void> {
      // A grant's tokens live under several models (codes, access tokens): revoke them all.
      for (const key of store.find('*', (p) => p.grantId === grantId)) {
        store.delete(key);
      }
      return Promise.resolve();
    }
  };
}
