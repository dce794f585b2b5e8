/**
 * The user's answers to web pages, for the agent page (and the CLI); web pages and named clients are refused
 * by the access rules (access.ts):
 *   GET  /api/v1/approvals                              → { pending: [...], origins: [...] }
 *   POST /api/v1/approvals/answer { id, choice, pin? }  → { ok: true }   choice: once | always | deny; pin:
 *                                                         the card PIN where the question asks for it
 *                                                         (per-signature policy; the page only)
 *   POST /api/v1/approvals/revoke { origin }            → { ok: true, revoked: boolean }
 */
import { z } from 'zod';
import type { Approvals } from '../approvals.js';
import { apiRouter, documented, type ApiRouter, type RouteDoc } from '../route-table.js';
import { parseBody } from '../validate.js';

const Answer = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    choice: z.enum(['once', 'always', 'deny']),
    // the card PIN, where the question asks for it (per-signature PIN policy): handed to the waiting request
    pin: z.string().min(1).max(64).optional(),
  })
  .strict();
const Revoke = z.object({ origin: z.string().min(1).max(512) }).strict();

/** Who may call (page and CLI only) is access.ts's; these are the routes' declarations (docs/openapi.json). */
const APPROVALS_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/approvals',
    tag: 'Approvals',
    summary:
      'The web pages waiting for the user’s answer and the remembered answers (page and CLI only)',
    responses: { 200: { description: '{ pending: [...], origins: [...] }' } },
    errors: [],
  },
  {
    method: 'post',
    path: '/api/v1/approvals/answer',
    tag: 'Approvals',
    summary: 'Answer a waiting web page: once, always or deny (page and CLI only)',
    body: Answer,
    responses: { 200: { description: '{ ok: true }', schema: z.object({ ok: z.literal(true) }) } },
    errors: ['ERR_APPROVAL_UNKNOWN', 'ERR_APPROVAL_PIN_REQUIRED'],
  },
  {
    method: 'post',
    path: '/api/v1/approvals/revoke',
    tag: 'Approvals',
    summary: 'Forget the remembered answer for an origin (page and CLI only)',
    body: Revoke,
    responses: {
      200: {
        description: '{ ok: true, revoked }',
        schema: z.object({ ok: z.literal(true), revoked: z.boolean() }),
      },
    },
    errors: [],
  },
];

export function approvalsRouter(approvals: Approvals): ApiRouter {
  const r = apiRouter();
  r.get('/api/v1/approvals', (_req, res) => {
    res.json(approvals.list());
  });
  r.post('/api/v1/approvals/answer', (req, res) => {
    const { id, choice, pin } = parseBody(Answer, req.body);
    approvals.answer(id, choice, pin);
    res.json({ ok: true });
  });
  r.post('/api/v1/approvals/revoke', (req, res) => {
    const { origin } = parseBody(Revoke, req.body);
    res.json({ ok: true, revoked: approvals.revoke(origin) });
  });
  return documented(r, APPROVALS_ROUTES);
}
