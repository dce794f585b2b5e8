/**
 * The Ticket API for workstation applications (docs/protocol/cis-login.md §4), plus the session routes the agent's page
 * and the CLI use. Routes:
 *   POST /ticket-api/getTicket        { timeoutMs? }  → { ticket }   (waits for a login up to timeoutMs)
 *   POST /ticket-api/getTicketNoAuth                  → { ticket }   (never waits)
 *   POST /ticket-api/getNewTicket     { timeoutMs? }  → { ticket }
 *   POST /ticket-api/destroyTicket                    → { ok: true }
 *   GET  /ticket-api/status                           → session status (uid, name, roles, selected role, time left)
 *   POST /api/v1/login                { pin, roleId?, acknowledgeFinalTry? } → session status
 *
 * The login's PIN goes through the PIN guard (docs/pin.md) with its source from pinSourceOf: back-off after a
 * wrong PIN, page-only after two or when the card has few tries left (the page sends acknowledgeFinalTry).
 *   POST /api/v1/role                 { roleId }       → session status
 *   POST /api/v1/logout                               → { ok: true }
 * Who may call which (access.ts): a web page may get a ticket after the user's approval (`gate`) and read
 * the status; login (the PIN), role and logout are for the agent page and the CLI only.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Agent } from '../../auth/index.js';
import type { Gate } from '../access.js';
import { pinSourceOf } from '../pin-source.js';
import { parseBody } from '../validate.js';

const Timeout = z.object({ timeoutMs: z.number().int().min(0).max(600_000).optional() }).strict();
const Login = z
  .object({
    pin: z.string().min(1).max(64),
    roleId: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
    acknowledgeFinalTry: z.boolean().optional(),
  })
  .strict();
const Role = z.object({ roleId: z.string().regex(/^\d{1,20}$/) }).strict();

const noGate: Gate = () => Promise.resolve();

export function ticketRouter(agent: Agent, gate: Gate = noGate): Router {
  const r = Router();
  const ticket = { action: 'ticket', count: 1 } as const;
  r.post('/ticket-api/getTicket', async (req, res) => {
    const { timeoutMs } = parseBody(Timeout, req.body);
    await gate(res, ticket);
    res.json({ ticket: await agent.getTicket(timeoutMs ?? 30_000) });
  });
  r.post('/ticket-api/getTicketNoAuth', async (_req, res) => {
    await gate(res, ticket);
    res.json({ ticket: agent.getTicketNoAuth() });
  });
  r.post('/ticket-api/getNewTicket', async (req, res) => {
    const { timeoutMs } = parseBody(Timeout, req.body);
    await gate(res, ticket);
    res.json({ ticket: await agent.getNewTicket(timeoutMs ?? 30_000) });
  });
  r.post('/ticket-api/destroyTicket', async (_req, res) => {
    await agent.destroyTicket();
    res.json({ ok: true });
  });
  r.get('/ticket-api/status', (_req, res) => {
    res.json(agent.status());
  });
  r.post('/api/v1/login', async (req, res) => {
    const { pin, roleId, acknowledgeFinalTry } = parseBody(Login, req.body);
    res.json(
      await agent.login(pin, {
        from: pinSourceOf(req),
        ...(roleId ? { roleId } : {}),
        ...(acknowledgeFinalTry === true ? { acknowledgeFinalTry: true } : {}),
      }),
    );
  });
  r.post('/api/v1/role', async (req, res) => {
    const { roleId } = parseBody(Role, req.body);
    res.json(await agent.selectRole(roleId));
  });
  r.post('/api/v1/logout', async (_req, res) => {
    await agent.destroyTicket();
    res.json({ ok: true });
  });
  return r;
}
