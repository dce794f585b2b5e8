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
import { z } from 'zod';
import type { Agent } from '../../auth/index.js';
import type { Gate } from '../access.js';
import { pinSourceOf } from '../pin-source.js';
import { apiRouter, documented, type ApiRouter, type RouteDoc } from '../route-table.js';
import { OkSchema, SessionStatusSchema, TicketSchema } from '../schemas.js';
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

const noGate: Gate = () => Promise.resolve({});

export function ticketRouter(agent: Agent, gate: Gate = noGate): ApiRouter {
  const r = apiRouter();
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
  return documented(r, TICKET_ROUTES);
}

/** A web page's ticket waits for the user's approval (access.ts approvalGate). */
const APPROVAL_ERRORS = ['ERR_ORIGIN_DENIED', 'ERR_APPROVAL_TIMEOUT', 'ERR_APPROVAL_BUSY'];

const TICKET_ERRORS = [
  ...APPROVAL_ERRORS,
  'ERR_TICKET_NOT_AVAILABLE',
  'ERR_AUTHENTICATION_FAILED',
  'ERR_AUTHSERVER_NOT_AVAILABLE',
  'ERR_AUTHDATA_SYNTAX_ERROR',
  'ERR_USER_NOT_VALID',
  'ERR_USER_ABORT',
  'ERR_SMARTCARD_NOT_PRESENT',
];
const LOGIN_ERRORS = [
  ...TICKET_ERRORS.filter((c) => !APPROVAL_ERRORS.includes(c)),
  'ERR_NO_CERT_FOUND',
  'ERR_NO_ROLES',
  'ERR_ROLE_UNKNOWN',
  'ERR_LOGIN_IN_PROGRESS',
  'ERR_PKCS11_PIN_INCORRECT',
  'ERR_PKCS11_PIN_LOCKED',
  'ERR_PKCS11_PIN_COUNT_LOW',
  'ERR_PKCS11_PIN_FINAL_TRY',
  'ERR_PKCS11_PIN_EXPIRED',
  'ERR_PKCS11_CARD_REMOVED',
  'ERR_PIN_BACKOFF',
  'ERR_PIN_PAGE_ONLY',
  'ERR_PIN_ACK_REQUIRED',
];
const TAG = 'Ticket API';
const ok = { 200: { description: 'Done.', schema: OkSchema } };
const session = { 200: { description: 'The session.', schema: SessionStatusSchema } };
const ticket = { 200: { description: 'The ticket.', schema: TicketSchema } };

/** The routes as the OpenAPI document shows them. */
const TICKET_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/ticket-api/getTicket',
    tag: TAG,
    summary: 'The Spine ticket, waiting (up to timeoutMs, default 30 s) for the user to log in',
    body: Timeout,
    bodyOptional: true,
    responses: ticket,
    errors: TICKET_ERRORS,
  },
  {
    method: 'post',
    path: '/ticket-api/getTicketNoAuth',
    tag: TAG,
    summary: 'The Spine ticket if a session exists (never waits)',
    responses: ticket,
    errors: ['ERR_TICKET_NOT_AVAILABLE', ...APPROVAL_ERRORS],
  },
  {
    method: 'post',
    path: '/ticket-api/getNewTicket',
    tag: TAG,
    summary: 'Ends the session and waits (up to timeoutMs) for a new login',
    body: Timeout,
    bodyOptional: true,
    responses: ticket,
    errors: TICKET_ERRORS,
  },
  {
    method: 'post',
    path: '/ticket-api/destroyTicket',
    tag: TAG,
    summary: 'Ends the Spine session (logs out at the broker)',
    responses: ok,
    errors: [],
  },
  {
    method: 'get',
    path: '/ticket-api/status',
    tag: TAG,
    summary: 'The card and Spine session (uid, name, roles, selected role, time left)',
    responses: session,
    errors: [],
  },
  {
    method: 'post',
    path: '/api/v1/login',
    tag: 'Session',
    summary: 'Logs in with the card and PIN (through the PIN guard, docs/pin.md)',
    body: Login,
    responses: session,
    errors: LOGIN_ERRORS,
  },
  {
    method: 'post',
    path: '/api/v1/role',
    tag: 'Session',
    summary: 'Selects the Spine role to work in',
    body: Role,
    responses: session,
    errors: ['ERR_TICKET_NOT_AVAILABLE', 'ERR_ROLE_UNKNOWN', 'ERR_AUTHSERVER_NOT_AVAILABLE'],
  },
  {
    method: 'post',
    path: '/api/v1/logout',
    tag: 'Session',
    summary: 'Ends the Spine session (and the card login)',
    responses: ok,
    errors: [],
  },
];
