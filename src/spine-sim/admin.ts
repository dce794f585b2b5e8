/**
 * Test-only administration of the simulator: fault injection and a view of the sessions.
 *
 * - `POST /_sim/faults` `{ kind, count?, endpoints? }` → 200 `{ faults }`; 400 `{ error }` naming the field.
 * - `DELETE /_sim/faults` → 204.
 * - `GET /_sim/sessions` → `{ sessions: SessionView[] }` (ticket fingerprints, never tickets).
 * The same operations are on the returned {@link SimAdmin}.
 */
import type { Router } from 'express';
import type { SimContext } from './context.js';
import { bodyText } from './context.js';
import { faultSchema, type Fault, type FaultSpec } from './faults.js';
import type { SessionView } from './sessions.js';

/** Programmatic admin handle. */
export interface SimAdmin {
  /** Queues a fault; throws (zod) on a bad spec. */
  injectFault(spec: FaultSpec): Fault[];
  clearFaults(): void;
  faults(): Fault[];
  sessions(): SessionView[];
}

/**
 * Mounts `/_sim/*` (when `enabled`) and returns the admin handle.
 *
 * @example
 * ```ts
 * const admin = mountAdmin(router, ctx, true);
 * admin.injectFault({ kind: '5xx', count: 1 });
 * ```
 */
export function mountAdmin(router: Router, ctx: SimContext, enabled: boolean): SimAdmin {
  const admin: SimAdmin = {
    injectFault: (spec) => ctx.faults.add(spec),
    clearFaults: () => ctx.faults.clear(),
    faults: () => ctx.faults.list(),
    sessions: () => ctx.sessions.list(),
  };
  if (!enabled) {
    return admin;
  }
  router.post('/_sim/faults', (req, res) => {
    let json: unknown;
    try {
      json = JSON.parse(bodyText(req) ?? '');
    } catch {
      res.status(400).json({ error: 'body is not JSON' });
      return;
    }
    const parsed = faultSchema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
      res.status(400).json({ error: `invalid fault: ${where}` });
      return;
    }
    res.status(200).json({ faults: ctx.faults.add(parsed.data) });
  });
  router.delete('/_sim/faults', (_req, res) => {
    ctx.faults.clear();
    res.status(204).end();
  });
  router.get('/_sim/sessions', (_req, res) => {
    res.status(200).json({ sessions: ctx.sessions.list() });
  });
  return admin;
}
