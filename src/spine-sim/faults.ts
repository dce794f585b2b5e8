/**
 * Fault injection (off by default): queued faults, each applied to the next `count` matching requests.
 *
 * Kinds:
 * - `5xx`: answer 503 with a plain-text body, any endpoint;
 * - `hang`: never answer (until the client gives up or the simulator closes), any endpoint;
 * - `reject-signature`: authvalidate refuses the login with `BAD_SIGNATURE`, whatever was sent;
 * - `zero-roles`: authvalidate succeeds with no `nhsjobroleN` lines (and a session with no roles);
 * - `expire-session`: the session named by the request is ended just before the request is handled,
 *   on any endpoint that takes a ticket.
 * `endpoints` (paths such as `/login/authvalidate`) narrows where a fault applies; absent means everywhere it can.
 */
import { z } from 'zod';

export const FAULT_KINDS = [
  '5xx',
  'hang',
  'reject-signature',
  'zero-roles',
  'expire-session',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultSchema = z
  .object({
    kind: z.enum(FAULT_KINDS),
    count: z.number().int().min(1).max(1_000_000).default(1),
    endpoints: z
      .array(z.string().regex(/^\/[A-Za-z0-9/._-]{0,200}$/))
      .max(50)
      .optional(),
  })
  .strict();

export type FaultSpec = z.input<typeof faultSchema>;

export interface Fault {
  readonly kind: FaultKind;
  remaining: number;
  readonly endpoints?: readonly string[];
}

/** Where a fault kind can act. */
const APPLIES: Readonly<Record<FaultKind, (path: string) => boolean>> = {
  '5xx': () => true,
  hang: () => true,
  'reject-signature': (p) => p === '/login/authvalidate',
  'zero-roles': (p) => p === '/login/authvalidate',
  'expire-session': (p) => p !== '/login/authactivate' && p !== '/login/authvalidate',
};

/** The queue of pending faults. */
export class FaultQueue {
  readonly #faults: Fault[] = [];

  /** Adds a fault (validated); returns the pending list. */
  add(spec: FaultSpec): Fault[] {
    const f = faultSchema.parse(spec);
    this.#faults.push({
      kind: f.kind,
      remaining: f.count,
      ...(f.endpoints ? { endpoints: f.endpoints } : {}),
    });
    return this.list();
  }

  clear(): void {
    this.#faults.length = 0;
  }

  list(): Fault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** Consumes one use of the first pending fault of `kinds` that applies to `path`. */
  take(path: string, kinds: readonly FaultKind[]): FaultKind | undefined {
    const i = this.#faults.findIndex(
      (f) =>
        kinds.includes(f.kind) &&
        APPLIES[f.kind](path) &&
        (f.endpoints === undefined || f.endpoints.includes(path)),
    );
    const f = this.#faults[i];
    if (f === undefined) {
      return undefined;
    }
    f.remaining -= 1;
    if (f.remaining <= 0) {
      this.#faults.splice(i, 1);
    }
    return f.kind;
  }
}
