/**
 * The user's answers to web pages, for the agent page (and the CLI); web pages and named clients are refused
 * by the access rules (access.ts):
 *   GET  /api/v1/approvals                              → { pending: [...], origins: [...] }
 *   POST /api/v1/approvals/answer { id, choice }        → { ok: true }   choice: once | always | deny
 *   POST /api/v1/approvals/revoke { origin }            → { ok: true, revoked: boolean }
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Approvals } from '../approvals.js';
import { parseBody } from '../validate.js';

const Answer = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    choice: z.enum(['once', 'always', 'deny']),
  })
  .strict();
const Revoke = z.object({ origin: z.string().min(1).max(512) }).strict();

export function approvalsRouter(approvals: Approvals): Router {
  const r = Router();
  r.get('/api/v1/approvals', (_req, res) => {
    res.json(approvals.list());
  });
  r.post('/api/v1/approvals/answer', (req, res) => {
    const { id, choice } = parseBody(Answer, req.body);
    approvals.answer(id, choice);
    res.json({ ok: true });
  });
  r.post('/api/v1/approvals/revoke', (req, res) => {
    const { origin } = parseBody(Revoke, req.body);
    res.json({ ok: true, revoked: approvals.revoke(origin) });
  });
  return r;
}
