/**
 * Signing routes: POST /api/v1/sign/eps, /api/v1/sign/hl7, /api/v1/sign/cms.
 *
 * Rules:
 * - every body is validated (zod, strict: unknown fields rejected) before the signing service sees it;
 * - the role rule: with no selected Spine role, signing is refused (ERR_SIGN_NO_ROLE, audited) unless
 *   `signWithoutRole` is configured;
 * - the PIN travels in the body field `pin` (EPS, CMS) or the `X-Rxsign-Pin` header (HL7, whose body is XML);
 *   it is never logged, echoed or stored (the card session keeps the login, not the PIN); it is accepted from
 *   the CLI only (a web page or a named client sending one is refused with ERR_PIN_NOT_ALLOWED);
 * - the audit `client` is the authenticated caller (access.ts callerName): `cli`, a client key's name, or
 *   the allowlisted origin of a web page the user approved — never a header value;
 * - a web page waits for the user's approval (`gate`) before anything is signed;
 * - size limits: JSON bodies by the app (1 MiB default), XML bodies 2 MiB here → 413.
 */
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import {
  MAX_EPS_BATCH,
  signError,
  type SignCaller,
  type SigningService,
} from '../../signing/index.js';
import { apiError, callerName, mayGivePin, type Gate } from '../access.js';
import { parseBody } from '../validate.js';

/** What the router needs. */
export interface SignRouterDeps {
  readonly service: SigningService;
  /** The agent's current Spine session: the UID and the selected role, if any. */
  readonly roleProvider: () => { uid?: string; roleId?: string } | undefined;
  /** Allow signing with no selected role (config.signWithoutRole). */
  readonly signWithoutRole: boolean;
  /** XML body limit for /sign/hl7, default '2mb'. */
  readonly xmlLimit?: string;
  /** Asks the user before a web page signs (access.ts approvalGate); default: no one is asked. */
  readonly gate?: Gate;
}

const Printable = z
  .string()
  .regex(/^[\x20-\x7e]{1,256}$/, 'must be 1-256 printable ASCII characters');
const Pin = z.string().min(1).max(64);
const Base64 = z
  .string()
  .max(16 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

const EpsBody = z
  .object({
    payloads: z
      .array(
        z
          .object({
            id: Printable,
            payload: z
              .string()
              .min(1)
              .max(32 * 1024),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_EPS_BATCH),
    algorithm: z.string().min(1).max(16),
    timestamp: z.string().max(64).optional(),
    pin: Pin.optional(),
  })
  .strict();

const CmsBody = z
  .object({
    content: Base64.min(1),
    detached: z.boolean().optional(),
    pem: z.boolean().optional(),
    pin: Pin.optional(),
  })
  .strict();

function caller(
  res: Response,
  roleProvider: SignRouterDeps['roleProvider'],
  pin: string | undefined,
): SignCaller {
  if (pin !== undefined && !mayGivePin(res)) {
    throw apiError('ERR_PIN_NOT_ALLOWED');
  }
  const role = roleProvider();
  return {
    client: callerName(res),
    ...(pin !== undefined ? { pin } : {}),
    uid: role?.uid ?? null,
    role: role?.roleId ?? null,
  };
}

/**
 * The signing router; the lead mounts it in the agent's server.
 *
 * @example
 * ```ts
 * createApp({ logger, routers: [signRouter({ service, roleProvider: () => agentRole(), signWithoutRole: false })] });
 * ```
 */
export function signRouter(deps: SignRouterDeps): Router {
  const r = Router();
  const gate: Gate = deps.gate ?? (() => Promise.resolve());
  const roleRule = async (c: SignCaller, ids: readonly string[]): Promise<void> => {
    if (c.role === null && !deps.signWithoutRole) {
      await deps.service.refuse(c, 'ERR_SIGN_NO_ROLE', ids);
      throw signError('ERR_SIGN_NO_ROLE');
    }
  };

  r.post('/api/v1/sign/eps', async (req, res) => {
    const body = parseBody(EpsBody, req.body);
    const c = caller(res, deps.roleProvider, body.pin);
    await gate(res, { action: 'sign', count: body.payloads.length });
    await roleRule(
      c,
      body.payloads.map((p) => p.id),
    );
    res.json(
      await deps.service.signEpsBatch(
        {
          payloads: body.payloads,
          algorithm: body.algorithm,
          ...(body.timestamp !== undefined ? { timestamp: body.timestamp } : {}),
        },
        c,
      ),
    );
  });

  r.post(
    '/api/v1/sign/hl7',
    express.raw({
      type: ['application/xml', 'text/xml', 'application/hl7-v3+xml'],
      limit: deps.xmlLimit ?? '2mb',
    }),
    async (req, res) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        throw apiError('ERR_UNSUPPORTED_MEDIA_TYPE');
      }
      const pinHeader = req.headers['x-rxsign-pin'];
      const pin = typeof pinHeader === 'string' ? parseBody(Pin, pinHeader) : undefined;
      const c = caller(res, deps.roleProvider, pin);
      await gate(res, { action: 'sign', count: 1 });
      await roleRule(c, []);
      const out = await deps.service.signHl7(new Uint8Array(req.body), c);
      res.type('application/xml').send(out.xml);
    },
  );

  r.post('/api/v1/sign/cms', async (req, res) => {
    const body = parseBody(CmsBody, req.body);
    const content = Buffer.from(body.content, 'base64');
    if (content.toString('base64') !== body.content) {
      throw apiError('ERR_BAD_REQUEST', {
        issues: [{ path: 'content', message: 'must be canonical base64' }],
      });
    }
    const c = caller(res, deps.roleProvider, body.pin);
    await gate(res, { action: 'sign', count: 1 });
    await roleRule(c, []);
    const cms = await deps.service.signCms(new Uint8Array(content), c, {
      detached: body.detached === true,
      pem: body.pem === true,
    });
    res.json(
      body.pem === true
        ? { format: 'pem', cms: Buffer.from(cms).toString('ascii') }
        : { format: 'der', cms: Buffer.from(cms).toString('base64') },
    );
  });
  return r;
}
