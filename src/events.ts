/**
 * The agent's event bus: what happened to the card, the session, origin approvals and signing, for the
 * agent page and local tools (`GET /api/v1/events`, Server-Sent Events; docs/api.md).
 *
 * Rules:
 * - events carry ids and hashes only: never a ticket, a PIN, a document or a signature value;
 * - the composition root (src/agent.ts) creates one bus and hands its `emit` to the parts that emit
 *   (the Spine agent: card and session; the signing service: signatures; the origin approvals);
 * - `emit` never throws and never waits: a listener that throws is dropped from that delivery only;
 * - every event gets a sequence `id` (the SSE id) and an ISO `time`.
 *
 * @example
 * ```ts
 * const bus = createEventBus();
 * const off = bus.subscribe((e) => console.log(e.id, e.type));
 * bus.emit({ type: 'approval.pending', origin: 'https://ehr.example', requestId: 'a1' });
 * off();
 * ```
 */

/** Why a session ended. */
export type SessionEndReason =
  'logout' | 'expired' | 'card-removed' | 'new-login' | 'new-ticket' | 'agent-stopping' | 'other';

/** An approval answer from the user (or the wait running out). */
export type ApprovalAnswer = 'allow-once' | 'always' | 'deny' | 'timeout';

/** What parts emit (without id and time). */
export type AgentEventInput =
  | { type: 'card.inserted'; card: { label: string; serial: string } }
  | { type: 'card.removed'; card: { label: string; serial: string } }
  | { type: 'session.login'; uid: string; roles: number }
  | { type: 'session.role'; uid: string; roleId: string }
  | { type: 'session.ended'; uid: string; reason: SessionEndReason }
  | { type: 'approval.pending'; origin: string; requestId: string }
  | { type: 'approval.answered'; origin: string; requestId: string; answer: ApprovalAnswer }
  | {
      type: 'signature.made';
      kind: 'eps' | 'hl7' | 'cms';
      /** The caller's document ids (EPS), none for HL7 and CMS. */
      documentIds: string[];
      /** SHA-256 (hex) of each signed input: the EPS payloads, the HL7 document, the CMS content. */
      sha256: string[];
      /** The authenticated caller (as in the audit record). */
      client: string;
    };

export type AgentEventType = AgentEventInput['type'];

/** A delivered event. */
export type AgentEvent = AgentEventInput & { readonly id: number; readonly time: string };

/** The emitting side, handed to the parts that emit. */
export type EmitEvent = (event: AgentEventInput) => void;

export interface EventBus {
  readonly emit: EmitEvent;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: (event: AgentEvent) => void): () => void;
  /** Number of listeners (SSE streams and others). */
  readonly listeners: number;
}

/** A bus with no listeners yet; `now` is the clock for `time` (tests). */
export function createEventBus(now: () => number = Date.now): EventBus {
  const listeners = new Set<(event: AgentEvent) => void>();
  let seq = 0;
  return {
    emit(input) {
      seq += 1;
      const event = Object.freeze({
        ...input,
        id: seq,
        time: new Date(now()).toISOString(),
      }) as AgentEvent;
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch {
          // a failing listener (a closed stream) must not stop the emitter or the other listeners
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get listeners() {
      return listeners.size;
    },
  };
}

/** An emit that drops everything (parts built without a bus, e.g. in unit tests). */
export const noEvents: EmitEvent = () => undefined;
