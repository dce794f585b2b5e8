/**
 * The Ticket API for workstation applications (docs/protocol/cis-login.md §4), plus the session routes the agent's page
 * and the CLI use. Routes:
 *   POST /ticket-api/getTicket        { timeoutMs? }  → { ticket }   (waits for a login up to timeoutMs)
 *   POST /ticket-api/getTicketNoAuth                  → { ticket }   (never waits)
 *   POST /ticket-api/getNewTicket     { timeoutMs? }  → { ticket }
 *   POST /ticket-api/destroyTicket                    → { ok: true }
 *   GET  /ticket-api/status                           → session status (uid, name, roles, selected role, time left)
 *   POST /api/v1/login                { pin, roleId? } → session status
 *   POST /api/v1/role                 { roleId }       → session status
 *   POST /api/v1/logout                               → { ok: true }
 */
import { z } from 'zod';
import type { Agent } from '../../auth/agent.js';
import { defineRouter, route, type ApiRouter } from '../route-table.js';
import { OkSchema, SessionStatusSchema, TicketSchema } from '../schemas.js';

const Timeout = z
  .object({
    timeoutMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .optional()
      .describe('How long to wait for the user to log in, default 30000.'),
  })
  .strict();
const Login = z
  .object({
    pin: z.string().min(1).max(64),
    roleId: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
  })
  .strict();
const Role = z.object({ roleId: z.string().regex(/^\d{1,20}$/) }).strict();

const TICKET_ERRORS = [
  'ERR_TICKET_NOT_AVAILABLE',
  'ERR_AUTHENTICATION_FAILED',
  'ERR_AUTHSERVER_NOT_AVAILABLE',
  'ERR_AUTHDATA_SYNTAX_ERROR',
  'ERR_USER_NOT_VALID',
  'ERR_USER_ABORT',
  'ERR_SMARTCARD_NOT_PRESENT',
];
const LOGIN_ERRORS = [
  ...TICKET_ERRORS,
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
];
const TAG = 'Ticket API';

export function ticketRouter(agent: Agent): ApiRouter {
  return defineRouter([
    route({
      method: 'post',
      path: '/ticket-api/getTicket',
      tag: TAG,
      summary:
        'The Spine ticket, waiting (up to timeoutMs) for the user to log in on the agent page',
      body: Timeout,
      bodyOptional: true,
      responses: { 200: { description: 'The ticket.', schema: TicketSchema } },
      errors: TICKET_ERRORS,
      handle: async (_req, res, { timeoutMs }) => {
        res.json({ ticket: await agent.getTicket(timeoutMs ?? 30_000) });
      },
    }),
    route({
      method: 'post',
      path: '/ticket-api/getTicketNoAuth',
      tag: TAG,
      summary: 'The Spine ticket if a session exists (never waits)',
      responses: { 200: { description: 'The ticket.', schema: TicketSchema } },
      errors: ['ERR_TICKET_NOT_AVAILABLE'],
      handle: (_req, res) => {
        res.json({ ticket: agent.getTicketNoAuth() });
      },
    }),
    route({
      method: 'post',
      path: '/ticket-api/getNewTicket',
      tag: TAG,
      summary: 'Ends the session and waits (up to timeoutMs) for a new login',
      body: Timeout,
      bodyOptional: true,
      responses: { 200: { description: 'The new ticket.', schema: TicketSchema } },
      errors: TICKET_ERRORS,
      handle: async (_req, res, { timeoutMs }) => {
        res.json({ ticket: await agent.getNewTicket(timeoutMs ?? 30_000) });
      },
    }),
    route({
      method: 'post',
      path: '/ticket-api/destroyTicket',
      tag: TAG,
      summary: 'Ends the Spine session (logs out at the broker)',
      responses: { 200: { description: 'Done.', schema: OkSchema } },
      errors: [],
      handle: async (_req, res) => {
        await agent.destroyTicket();
        res.json({ ok: true });
      },
    }),
    route({
      method: 'get',
      path: '/ticket-api/status',
      tag: TAG,
      summary: 'The card and Spine session (uid, name, roles, selected role, time left)',
      responses: { 200: { description: 'The session.', schema: SessionStatusSchema } },
      errors: [],
      handle: (_req, res) => {
        res.json(agent.status());
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/login',
      tag: 'Session',
      summary: 'Logs in with the card and PIN (and selects roleId, or the only role)',
      body: Login,
      responses: { 200: { description: 'The session.', schema: SessionStatusSchema } },
      errors: LOGIN_ERRORS,
      handle: async (_req, res, { pin, roleId }) => {
        res.json(await agent.login(pin, roleId ? { roleId } : {}));
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/role',
      tag: 'Session',
      summary: 'Selects the Spine role to work in',
      body: Role,
      responses: { 200: { description: 'The session.', schema: SessionStatusSchema } },
      errors: ['ERR_TICKET_NOT_AVAILABLE', 'ERR_ROLE_UNKNOWN', 'ERR_AUTHSERVER_NOT_AVAILABLE'],
      handle: async (_req, res, { roleId }) => {
        res.json(await agent.selectRole(roleId));
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/logout',
      tag: 'Session',
      summary: 'Ends the Spine session',
      responses: { 200: { description: 'Done.', schema: OkSchema } },
      errors: [],
      handle: async (_req, res) => {
        await agent.destroyTicket();
        res.json({ ok: true });
      },
    }),
  ]);
}
