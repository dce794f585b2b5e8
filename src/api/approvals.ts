/**
 * The user in the loop for web pages (docs/security.md "Web pages"): an allowlisted origin's first ticket or
 * signing request waits while the agent page asks "<origin> wants to sign N prescriptions as <name, role>";
 * the user answers Allow once, Always allow or Deny. Rules:
 * - `always` and `deny` are remembered per origin in `approvals.json` (0600, written atomically, in the
 *   agent's private state folder) and revocable; `once` covers the one request;
 * - origins pre-approved in configuration (`approvedOrigins`) are `always` without asking and cannot be
 *   revoked on the page (the configuration owns them);
 * - a request waits at most `timeoutMs`, then resolves `timeout`; at most `maxPending` wait at once (more are
 *   refused at once with `busy`), so a page cannot flood the user or the agent;
 * - a request whose caller goes away (its AbortSignal) is withdrawn from the page;
 * - events: `pending` (a new question), `answered` (a question gone: answered, timed out or withdrawn),
 *   `changed` (the remembered list changed) — for the page and the event stream.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, readSecretFile, writeSecretFile } from '../runtime.js';
import { ServiceError } from '../errors.js';
import { apiError } from './errors.js';

export type Choice = 'once' | 'always' | 'deny';
export type Outcome = Choice | 'timeout' | 'busy';

/** What a web page asks for. */
export interface ApprovalWhat {
  readonly action: 'ticket' | 'sign';
  /** Prescriptions or documents to sign (1 for a ticket). */
  readonly count: number;
  /**
   * What is signed: EPS and HL7 v3 prescriptions (the default), or `document` for a CMS signature over any
   * content, which the question must not call a prescription.
   */
  readonly kind?: 'prescription' | 'document';
  /** Whom the page acts as: "<name>, <role>" of the current session, or a note that no one is logged in. */
  readonly as: string;
  /** The callers' own ids of the documents (EPS payload ids), when the request names them. */
  readonly documentIds?: readonly string[];
  /**
   * What is being signed, in words, where it can be read from the request itself: for a FHIR prescription
   * sent with its Bundle, the prescription id, patient and items (src/prescription/fhir describePrescription).
   */
  readonly details?: { readonly prescriptions?: readonly ApprovalPrescription[] };
  /**
   * The card PIN is asked with the answer (the per-signature PIN policy, docs/pin.md): the question is shown
   * even to an origin the user always allows, and Allow needs the PIN.
   */
  readonly pin?: boolean;
}

/** One prescription as the approval question shows it (the summary of describePrescription). */
export interface ApprovalPrescription {
  readonly prescriptionId: string;
  readonly patient: { readonly name: string; readonly nhsNumber: string };
  readonly items: readonly {
    readonly name: string;
    readonly quantity: string;
    readonly dosage: string;
  }[];
}

export interface PendingApproval extends Omit<ApprovalWhat, 'pin'> {
  readonly id: string;
  /** Allow needs the card PIN, typed on the agent page (never stored, never shown, never logged). */
  readonly pinRequired?: true;
  readonly origin: string;
  /** The question as the page shows it. */
  readonly question: string;
  readonly expiresAt: string;
}

export interface RememberedApproval {
  readonly origin: string;
  readonly decision: 'always' | 'deny';
  readonly at: string;
  readonly source: 'user' | 'config';
}

export interface ApprovalList {
  readonly pending: readonly PendingApproval[];
  readonly origins: readonly RememberedApproval[];
}

export interface ApprovalsOptions {
  /** The agent's state folder; approvals.json lives there. Undefined: nothing is remembered on disk. */
  readonly stateDir?: string;
  readonly preApproved?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxPending?: number;
  readonly now?: () => number;
}

const FileSchema = z
  .object({
    version: z.literal(1),
    origins: z
      .array(
        z
          .object({
            origin: z.string().min(1).max(512),
            decision: z.enum(['always', 'deny']),
            at: z.string().max(64),
          })
          .strict(),
      )
      .max(10_000),
  })
  .strict();

/** Says what a request wants, as the page shows it. */
export function question(origin: string, what: ApprovalWhat): string {
  return what.action === 'ticket'
    ? `${origin} wants the Spine session ticket of ${what.as}`
    : `${origin} wants to sign ${what.count} ${what.kind ?? 'prescription'}${what.count === 1 ? '' : 's'} as ${what.as}`;
}

interface Waiting {
  readonly entry: PendingApproval;
  readonly resolve: (answer: { outcome: Outcome; pin?: string }) => void;
  readonly timer: NodeJS.Timeout;
  readonly cleanup: () => void;
}

export class Approvals extends EventEmitter {
  private readonly file: string | undefined;
  private readonly remembered = new Map<string, RememberedApproval>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly now: () => number;

  constructor(o: ApprovalsOptions = {}) {
    super();
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.maxPending = o.maxPending ?? 16;
    this.now = o.now ?? Date.now;
    this.file = o.stateDir === undefined ? undefined : join(o.stateDir, 'approvals.json');
    if (o.stateDir !== undefined) {
      ensurePrivateDir(o.stateDir);
      this.load();
    }
    for (const origin of o.preApproved ?? []) {
      this.remembered.set(origin, {
        origin,
        decision: 'always',
        at: new Date(this.now()).toISOString(),
        source: 'config',
      });
    }
  }

  private load(): void {
    if (this.file === undefined || !existsSync(this.file)) {
      return;
    }
    let parsed;
    try {
      parsed = FileSchema.safeParse(JSON.parse(readSecretFile(this.file)));
    } catch (err) {
      if (err instanceof ServiceError) {
        throw err;
      }
      parsed = undefined;
    }
    if (!parsed?.success) {
      throw apiError('ERR_APPROVALS_FILE_INVALID', { path: this.file, field: this.file });
    }
    for (const o of parsed.data.origins) {
      this.remembered.set(o.origin, { ...o, source: 'user' });
    }
  }

  private save(): void {
    this.emit('changed', this.list().origins);
    if (this.file === undefined) {
      return;
    }
    const origins = [...this.remembered.values()]
      .filter((r) => r.source === 'user')
      .map(({ origin, decision, at }) => ({ origin, decision, at }));
    writeSecretFile(
      join(this.file, '..'),
      'approvals.json',
      `${JSON.stringify({ version: 1, origins }, null, 2)}\n`,
    );
  }

  /**
   * Asks the user (or answers from memory). Resolves `once` / `always` (go ahead), `deny`, `timeout` or
   * `busy` (too many questions open). Never rejects.
   */
  /** True when the user has denied `origin` and the denial is remembered. */
  isDenied(origin: string): boolean {
    return this.remembered.get(origin)?.decision === 'deny';
  }

  async request(origin: string, what: ApprovalWhat, signal?: AbortSignal): Promise<Outcome> {
    return (await this.ask(origin, { ...what, pin: false }, signal)).outcome;
  }

  /**
   * {@link request}, and with `what.pin` the card PIN the user typed with the answer (per-signature PIN
   * policy): then the question is asked even of an origin the user always allows (a remembered Deny still
   * answers at once), and a go-ahead always carries the PIN. The PIN is handed to the caller only: it is not
   * in the question, the list, the events or the approvals file.
   */
  ask(
    origin: string,
    what: ApprovalWhat,
    signal?: AbortSignal,
  ): Promise<{ outcome: Outcome; pin?: string }> {
    const known = this.remembered.get(origin);
    if (known && (!what.pin || known.decision === 'deny')) {
      return Promise.resolve({ outcome: known.decision });
    }
    if (this.waiting.size >= this.maxPending) {
      return Promise.resolve({ outcome: 'busy' });
    }
    if (signal?.aborted) {
      return Promise.resolve({ outcome: 'timeout' });
    }
    const id = randomBytes(9).toString('base64url');
    const entry: PendingApproval = {
      id,
      origin,
      action: what.action,
      count: what.count,
      as: what.as,
      ...(what.documentIds?.length ? { documentIds: what.documentIds.slice(0, 250) } : {}),
      ...(what.details?.prescriptions?.length
        ? { details: { prescriptions: what.details.prescriptions.slice(0, 250) } }
        : {}),
      ...(what.pin ? { pinRequired: true as const } : {}),
      question: question(origin, what),
      expiresAt: new Date(this.now() + this.timeoutMs).toISOString(),
    };
    return new Promise((resolve) => {
      const onAbort = (): void => void this.finish(id, 'timeout');
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => this.finish(id, 'timeout'), this.timeoutMs);
      timer.unref();
      this.waiting.set(id, {
        entry,
        resolve,
        timer,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      this.emit('pending', entry);
    });
  }

  private finish(id: string, outcome: Outcome, pin?: string): boolean {
    const w = this.waiting.get(id);
    if (!w) {
      return false;
    }
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.cleanup();
    w.resolve(pin !== undefined && outcome !== 'deny' ? { outcome, pin } : { outcome });
    this.emit('answered', { id, origin: w.entry.origin, outcome });
    return true;
  }

  /**
   * The user's answer to one question. `always` and `deny` are remembered for the origin; `deny` also answers
   * every other question of that origin that is waiting, `always` every other one that needs no PIN. A
   * question that needs the PIN takes Allow only with it (ERR_APPROVAL_PIN_REQUIRED); a PIN for a question
   * that does not ask for one is refused (ERR_BAD_REQUEST), never kept. Throws ERR_APPROVAL_UNKNOWN for an id
   * that is not waiting (answered, timed out or never asked).
   */
  answer(id: string, choice: Choice, pin?: string): void {
    const w = this.waiting.get(id);
    if (!w) {
      throw apiError('ERR_APPROVAL_UNKNOWN');
    }
    if (pin !== undefined && !w.entry.pinRequired) {
      throw apiError('ERR_BAD_REQUEST', {
        issues: [{ path: 'pin', message: 'this request does not ask for the PIN' }],
      });
    }
    if (w.entry.pinRequired && choice !== 'deny' && (pin === undefined || pin === '')) {
      throw apiError('ERR_APPROVAL_PIN_REQUIRED');
    }
    if (choice === 'once') {
      this.finish(id, 'once', pin);
      return;
    }
    const origin = w.entry.origin;
    this.remembered.set(origin, {
      origin,
      decision: choice,
      at: new Date(this.now()).toISOString(),
      source: 'user',
    });
    this.save();
    this.finish(id, choice, pin);
    for (const [other, x] of [...this.waiting]) {
      if (x.entry.origin === origin && (choice === 'deny' || !x.entry.pinRequired)) {
        this.finish(other, choice);
      }
    }
  }

  /** Forgets the user's answer for an origin (it will be asked again). False if nothing user-given was remembered. */
  revoke(origin: string): boolean {
    const r = this.remembered.get(origin);
    if (!r || r.source !== 'user') {
      return false;
    }
    this.remembered.delete(origin);
    this.save();
    return true;
  }

  list(): ApprovalList {
    return {
      pending: [...this.waiting.values()].map((w) => w.entry),
      origins: [...this.remembered.values()].sort((a, b) => a.origin.localeCompare(b.origin)),
    };
  }

  /** Ends every waiting question with `timeout` (the agent is stopping). */
  close(): void {
    for (const id of [...this.waiting.keys()]) {
      this.finish(id, 'timeout');
    }
  }
}
