/**
 * GET /api/v1/status — the agent, card, session and broker at a glance (cheap: no card or broker call);
 * GET /api/v1/events — the agent's events as Server-Sent Events (W3C/WHATWG HTML "Server-sent events").
 *
 * SSE rules:
 * - each event is `id: <seq>`, `event: <type>`, `data: <JSON>` (src/events.ts: ids and hashes only);
 * - the stream starts with `retry: <ms>` and sends a comment line (`: heartbeat`) every `heartbeatMs`, so
 *   proxies and clients see a live connection;
 * - at most `maxStreams` streams at once; one more is refused with ERR_EVENTS_BUSY (503);
 * - a stream whose client stops reading (over 1 MiB queued) is ended, never buffered without bound;
 * - {@link StatusRouter.closeStreams} ends every stream (the agent calls it when it stops);
 * - no replay: a client that reconnects reads GET /api/v1/status for the current state.
 */
import type { Request, Response } from 'express';
import type { SessionStatus } from '../../auth/index.js';
import type { AgentEvent, EventBus } from '../../events.js';
import { apiError } from '../errors.js';
import { defineRouter, route, type ApiRouter } from '../route-table.js';
import { AgentStatusSchema } from '../schemas.js';

export interface StatusRouterDeps {
  readonly version: string;
  readonly session: () => SessionStatus;
  readonly broker: () => { url: string; reachable: boolean | null };
  readonly signing: boolean;
  readonly bus: EventBus;
  /** Concurrent SSE streams, default 8. */
  readonly maxStreams?: number;
  /** Heartbeat comment interval, default 15 s. */
  readonly heartbeatMs?: number;
  /** The client's reconnection delay sent as `retry:`, default 3 s. */
  readonly retryMs?: number;
}

export interface StatusRouter extends ApiRouter {
  /** Ends every open event stream. */
  closeStreams(): void;
  /** Open event streams. */
  readonly streams: number;
}

const TAG = 'Agent';
/** Bytes queued for one stream (a client that does not read) before the agent ends that stream. */
const MAX_BUFFERED = 1024 * 1024;

/** The SSE text of one event. `data` is one JSON line (JSON.stringify never emits a raw newline). */
export function sseFrame(e: AgentEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/**
 * @example
 * ```ts
 * const status = statusRouter({ version, session: () => agent.status(), broker, signing: true, bus });
 * createApp({ logger, routers: [status, …] }); // later: status.closeStreams()
 * ```
 */
export function statusRouter(deps: StatusRouterDeps): StatusRouter {
  const maxStreams = deps.maxStreams ?? 8;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const retryMs = deps.retryMs ?? 3_000;
  const open = new Set<() => void>();

  const events = (req: Request, res: Response): void => {
    if (open.size >= maxStreams) {
      throw apiError('ERR_EVENTS_BUSY');
    }
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    res.write(`retry: ${retryMs}\n: rxsign events\n\n`);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    const unsubscribe = deps.bus.subscribe((e) => {
      // A client that stops reading is dropped rather than buffered without end.
      if (res.writableLength > MAX_BUFFERED) {
        end();
        return;
      }
      res.write(sseFrame(e));
    });
    const end = (): void => {
      if (!open.delete(end)) {
        return;
      }
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    open.add(end);
    req.on('close', end);
    res.on('error', end);
  };

  const router = defineRouter([
    route({
      method: 'get',
      path: '/api/v1/status',
      tag: TAG,
      summary: 'The agent version, the card, the session and whether the broker answers',
      responses: { 200: { description: 'The status.', schema: AgentStatusSchema } },
      errors: [],
      handle: (_req, res) => {
        const s = deps.session();
        const body = {
          agent: { name: 'rxsign', version: deps.version },
          card: s.card
            ? { present: true, label: s.card.label, serial: s.card.serial }
            : { present: false },
          session: {
            state: s.state,
            ...(s.uid !== undefined ? { uid: s.uid } : {}),
            ...(s.name !== undefined ? { name: s.name } : {}),
            ...(s.selectedRole !== undefined ? { selectedRole: s.selectedRole } : {}),
            ...(s.timeLeftSeconds !== undefined ? { timeLeftSeconds: s.timeLeftSeconds } : {}),
          },
          broker: deps.broker(),
          signing: deps.signing,
        };
        res.json(body);
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/events',
      tag: TAG,
      summary: 'Server-Sent Events: card, session, approvals and signatures (ids and hashes only)',
      description:
        'Event types: card.inserted, card.removed, session.login, session.role, session.ended, approval.pending, approval.answered, signature.made. Each event is `id`, `event` (the type) and `data` (JSON with `id`, `type`, `time` and the fields of src/events.ts). A heartbeat comment comes every 15 s; no replay on reconnect.',
      responses: {
        200: {
          description: 'The event stream (never ends while the agent runs).',
          contentType: 'text/event-stream',
        },
      },
      errors: ['ERR_EVENTS_BUSY'],
      handle: events,
    }),
  ]);
  Object.defineProperties(router, {
    closeStreams: {
      value: () => {
        for (const end of [...open]) {
          end();
        }
      },
    },
    streams: { get: () => open.size },
  });
  return router as StatusRouter;
}
