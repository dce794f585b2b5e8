/**
 * The PKCS#11 worker's request queue: what may run beside what.
 *
 * Rules:
 * - requests start in arrival order: a signature starts as soon as its token has a free session, so up to
 *   `sessions` signatures of a token run at once, each on its own session (never CKR_OPERATION_ACTIVE);
 *   their answers may come back in any order;
 * - the worker's own thread is one of the signers: a signature goes to the libuv pool only when another
 *   signature waits behind it (which this thread then signs itself), and the pool takes at most
 *   `sessions - 1`. A lone signature therefore never pays a thread-pool round trip, and a stream of them pays
 *   one for every other signature at most (cross-thread wake-ups cost more CPU than the pool saves when the
 *   machine is busy). After a signature on this thread the queue yields one event-loop turn, so that pool
 *   completions and new requests are taken in before the next one;
 * - every other request is a barrier: it starts only when no signature is in flight, and nothing that
 *   arrived after it starts before it has finished. So login (the PIN tried exactly once, on a quiet token),
 *   logout, login state, certificates, slot lists, polls (and the re-initialise a poll may do) and shutdown
 *   never run beside a C_Sign; a signature sent before a logout completes, one sent after it fails with
 *   ERR_PKCS11_NOT_LOGGED_IN; shutdown lets every accepted request finish;
 * - arrivals are collected until the event loop's check phase (setImmediate) before anything is decided, so a
 *   burst of requests posted together is seen as a burst, not as a series of lone signatures.
 */

/**
 * What the scheduler needs of the driver (Pkcs11Driver; a fake in the unit tests).
 *
 * @example
 * ```ts
 * const starter: SignStarter<Job> = { get busy() { return driver.busy; }, trySign: (j, pool, done) => driver.trySign(j.sel, j.req, pool, done) };
 * ```
 */
export interface SignStarter<R> {
  /** True while any signature is in flight. */
  readonly busy: boolean;
  /**
   * Starts `request`: false if it cannot start yet (no free session); throws if it fails at once; otherwise
   * `done` is called exactly once, before returning (C_Sign on this thread) or later (on the pool).
   * `preferPool`: another signature waits behind this one, so put this one on the pool if a pool session is
   * free; otherwise sign on this thread.
   */
  trySign(
    request: R,
    preferPool: boolean,
    done: (err: unknown, signature?: Uint8Array) => void,
  ): boolean;
}

/** Receives a request's outcome exactly once; must not throw. */
export type Reply = (err: unknown, value?: unknown) => void;

type Job<R> =
  | { readonly kind: 'sign'; readonly request: R; readonly reply: Reply }
  | { readonly kind: 'barrier'; readonly run: () => unknown; readonly reply: Reply };

/**
 * The queue of one worker.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler(driverAdapter);
 * scheduler.sign({ sel, req }, reply);          // runs beside other signatures
 * scheduler.barrier(() => driver.logout(sel), reply); // waits for them, and holds back later ones
 * ```
 */
export class Scheduler<R> {
  readonly #driver: SignStarter<R>;
  readonly #queue: Job<R>[] = [];
  #scheduled = false;

  constructor(driver: SignStarter<R>) {
    this.#driver = driver;
  }

  /** Requests accepted and not yet started. */
  get queued(): number {
    return this.#queue.length;
  }

  sign(request: R, reply: Reply): void {
    this.#queue.push({ kind: 'sign', request, reply });
    this.#schedule();
  }

  barrier(run: () => unknown, reply: Reply): void {
    this.#queue.push({ kind: 'barrier', run, reply });
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#pump();
      });
    }
  }

  /** Starts what may start, in order; stops at the first job that must wait. */
  #pump(): void {
    for (let job = this.#queue[0]; job !== undefined; job = this.#queue[0]) {
      if (job.kind === 'barrier') {
        if (this.#driver.busy) {
          return; // the last signature to return pumps again
        }
        this.#queue.shift();
        let value: unknown;
        try {
          value = job.run();
        } catch (err) {
          job.reply(err);
          continue;
        }
        job.reply(undefined, value);
        continue;
      }
      const preferPool = this.#queue[1]?.kind === 'sign';
      const { reply } = job;
      let returned = false;
      let here = false;
      let started: boolean;
      try {
        started = this.#driver.trySign(job.request, preferPool, (err, signature) => {
          reply(err, signature);
          if (returned) {
            this.#schedule(); // back from the pool: a session is free
          } else {
            here = true; // signed on this thread, before trySign returned
          }
        });
        returned = true;
      } catch (err) {
        this.#queue.shift();
        reply(err);
        continue;
      }
      if (!started) {
        return; // every session of the token is busy: a returning signature schedules the queue again
      }
      this.#queue.shift();
      if (here) {
        // This thread was busy signing: take in pool completions and new requests before the next one.
        if (this.#queue.length > 0) {
          this.#schedule();
        }
        return;
      }
    }
  }
}
