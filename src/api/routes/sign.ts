/**
 * Signing routes: POST /api/v1/sign/eps, /api/v1/sign/hl7, /api/v1/sign/cms.
 *
 * Rules:
 * - every body is validated (zod, strict: unknown fields rejected) before the signing service sees it;
 * - the role rule: with no selected Spine role, signing is refused (ERR_SIGN_NO_ROLE, audited) unless
 *   `signWithoutRole` is configured;
 * - the PIN travels in the JSON body field `pin` only: EPS and CMS bodies, and HL7's JSON envelope
 *   `{ xml, pin? }` (a raw XML body carries no PIN: it signs with the live card login). A header is logged by
 *   proxies and kept by browser devtools, so a request with `X-Rxsign-Pin` is refused (ERR_PIN_IN_HEADER).
 *   The PIN is never logged, echoed or stored; its source (page, CLI, web application) comes from
 *   pinSourceOf, and the PIN guard applies back-off and the page-only rules (docs/pin.md);
 * - a PIN is accepted from the agent page and the CLI only (a web page or a named client sending one is
 *   refused with ERR_PIN_NOT_ALLOWED); the audit `client` is the authenticated caller (access.ts
 *   callerName): `cli`, a client key's name, or the approved web page's origin — never a header value;
 * - a web page waits for the user's approval (`gate`) before anything is signed;
 * - size limits: JSON bodies by the app (1 MiB default), XML bodies 2 MiB here → 413.
 */
import express, { type Response } from 'express';
import { z } from 'zod';
import {
  DEFAULT_PRESCRIBER_ROLES,
  MAX_EPS_BATCH,
  checkDistinctIds,
  isPrescriberRole,
  signError,
  type SignCaller,
  type SigningService,
} from '../../signing/index.js';
import { pinError } from '../../pin/index.js';
import { describePrescription } from '../../prescription/fhir/index.js';
import { callerName, mayGivePin, type Gate } from '../access.js';
import type { ApprovalPrescription, ApprovalWhat } from '../approvals.js';
import { apiError } from '../errors.js';
import { pinSourceOf } from '../pin-source.js';
import { apiRouter, documented, type ApiRouter, type RouteDoc } from '../route-table.js';
import { CmsResultSchema, EpsBatchResultSchema } from '../schemas.js';
import { parseBody } from '../validate.js';

/** What the router needs. */
export interface SignRouterDeps {
  readonly service: SigningService;
  /** The agent's current Spine session: the UID and the selected role (id, job role name/code), if any. */
  readonly roleProvider: () =>
    { uid?: string; roleId?: string; jobRole?: string; jobRoleCode?: string } | undefined;
  /** Allow signing with no selected role (config.signWithoutRole). */
  readonly signWithoutRole: boolean;
  /** Job roles that may sign prescriptions (config.prescriberRoles); default DEFAULT_PRESCRIBER_ROLES. */
  readonly prescriberRoles?: readonly string[];
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
            id: Printable.describe(
              'Names this payload’s signature in the answer; unique within the batch (a repeated id refuses the batch: ERR_SIGN_BAD_INPUT).',
            ),
            payload: z
              .string()
              .min(1)
              .max(32 * 1024),
            // The FHIR Bundle (object, or its JSON text to keep decimals such as 1.50 as written).
            bundle: z
              .union([z.string().max(2 * 1024 * 1024), z.record(z.string(), z.unknown())])
              .optional(),
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

/**
 * The approval question's details for an EPS batch: the payload ids, and for each payload sent with its FHIR
 * Bundle the prescription in words. A Bundle that cannot be read is left out here; signing refuses it.
 */
function describeEps(
  payloads: readonly { id: string; bundle?: unknown }[],
): Pick<ApprovalWhat, 'documentIds' | 'details'> {
  const prescriptions: ApprovalPrescription[] = [];
  for (const p of payloads) {
    if (p.bundle === undefined) {
      continue;
    }
    try {
      const d = describePrescription(p.bundle as string | object);
      prescriptions.push({ prescriptionId: d.prescriptionId, patient: d.patient, items: d.items });
    } catch {
      // not a prescription-order Bundle: the signing service refuses this item with its reason
    }
  }
  return {
    documentIds: payloads.map((p) => p.id),
    ...(prescriptions.length > 0 ? { details: { prescriptions } } : {}),
  };
}

const Hl7Body = z
  .object({
    xml: z.string().min(1),
    algorithm: z.enum(['RS256', 'RS1']).optional(),
    pin: Pin.optional(),
  })
  .strict();

/** '2mb', '1kb', '500' → bytes (the express limit syntax this router is given). */
function limitBytes(limit: string): number {
  const m = /^(\d+)\s*(b|kb|mb)?$/i.exec(limit.trim());
  const n = Number(m?.[1] ?? 2);
  const unit = (m?.[2] ?? (m ? 'b' : 'mb')).toLowerCase();
  return n * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

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
    ...(pin !== undefined ? { pin, pinFrom: pinSourceOf(res.req) } : {}),
    uid: role?.uid ?? null,
    role: role?.roleId ?? null,
  };
}

/** The caller, signing with the PIN the user typed on the agent page with the approval, if any. */
function withPagePin(c: SignCaller, granted: { pin?: string }): SignCaller {
  return granted.pin === undefined ? c : { ...c, pin: granted.pin, pinFrom: 'page' };
}

/**
 * The signing router; the lead mounts it in the agent's server.
 *
 * @example
 * ```ts
 * createApp({ logger, routers: [signRouter({ service, roleProvider: () => agentRole(), signWithoutRole: false })] });
 * ```
 */
export function signRouter(deps: SignRouterDeps): ApiRouter {
  const r = apiRouter();
  const allowed = deps.prescriberRoles ?? DEFAULT_PRESCRIBER_ROLES;
  const gate: Gate = deps.gate ?? (() => Promise.resolve({}));
  const roleRule = async (
    c: SignCaller,
    ids: readonly string[],
    prescription = false,
  ): Promise<void> => {
    if (c.role === null && !deps.signWithoutRole) {
      await deps.service.refuse(c, 'ERR_SIGN_NO_ROLE', ids);
      throw signError('ERR_SIGN_NO_ROLE');
    }
    if (prescription && c.role !== null && c.role !== undefined) {
      const role = deps.roleProvider();
      const facts = {
        ...(role?.jobRole === undefined ? {} : { jobRole: role.jobRole }),
        ...(role?.jobRoleCode === undefined ? {} : { jobRoleCode: role.jobRoleCode }),
      };
      if (!isPrescriberRole(facts, allowed)) {
        await deps.service.refuse(c, 'ERR_SIGN_ROLE_NOT_PRESCRIBER', ids);
        throw signError('ERR_SIGN_ROLE_NOT_PRESCRIBER');
      }
    }
  };

  r.post('/api/v1/sign/eps', async (req, res) => {
    const body = parseBody(EpsBody, req.body);
    const ids = body.payloads.map((p) => p.id);
    try {
      // Refused before the user is asked to approve a batch that would be refused anyway.
      checkDistinctIds(ids);
    } catch (err) {
      await deps.service.refuse(
        caller(res, deps.roleProvider, body.pin),
        'ERR_SIGN_BAD_INPUT',
        ids,
      );
      throw err;
    }
    const c = withPagePin(
      caller(res, deps.roleProvider, body.pin),
      await gate(res, {
        action: 'sign',
        count: body.payloads.length,
        describe: () => describeEps(body.payloads),
      }),
    );
    await roleRule(c, ids, true);
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

  const xmlLimit = deps.xmlLimit ?? '2mb';
  const xmlMax = limitBytes(xmlLimit);
  r.post(
    '/api/v1/sign/hl7',
    // The header is refused before any body is read: its PIN is never tried.
    (req, _res, next) => {
      next(req.headers['x-rxsign-pin'] !== undefined ? pinError('ERR_PIN_IN_HEADER') : undefined);
    },
    express.raw({
      type: ['application/xml', 'text/xml', 'application/hl7-v3+xml'],
      limit: xmlLimit,
    }),
    async (req, res) => {
      let xml: Uint8Array;
      let pin: string | undefined;
      let algorithm: 'RS256' | 'RS1' | undefined;
      const envelope = typeof req.is('application/json') === 'string';
      if (Buffer.isBuffer(req.body) && req.body.length > 0) {
        xml = new Uint8Array(req.body);
      } else if (envelope) {
        const body = parseBody(Hl7Body, req.body);
        const bytes = Buffer.from(body.xml, 'utf8');
        if (bytes.length > xmlMax) {
          throw apiError('ERR_BODY_TOO_LARGE');
        }
        xml = new Uint8Array(bytes);
        pin = body.pin;
        algorithm = body.algorithm;
      } else {
        throw apiError('ERR_UNSUPPORTED_MEDIA_TYPE');
      }
      const c = withPagePin(
        caller(res, deps.roleProvider, pin),
        await gate(res, { action: 'sign', count: 1 }),
      );
      await roleRule(c, [], true);
      const out = await deps.service.signHl7(xml, c, algorithm !== undefined ? { algorithm } : {});
      if (envelope) {
        res.json({
          xml: out.xml,
          signature: out.signature,
          certificate: out.certificate,
          authorTime: out.authorTime,
        });
      } else {
        res.type('application/xml').send(out.xml);
      }
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
    const c = withPagePin(
      caller(res, deps.roleProvider, body.pin),
      // any content, not a prescription: the question must not call it one
      await gate(res, { action: 'sign', count: 1, kind: 'document' }),
    );
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
  return documented(r, SIGN_ROUTES);
}

const SIGN_ERRORS_COMMON = [
  // a web page waits for the user's approval (access.ts approvalGate)
  'ERR_ORIGIN_DENIED',
  'ERR_APPROVAL_TIMEOUT',
  'ERR_APPROVAL_BUSY',
  'ERR_PIN_NOT_ALLOWED',
  'ERR_SIGN_NO_ROLE',
  'ERR_SIGN_PIN_REQUIRED',
  'ERR_SIGN_NO_SIGNING_CERT',
  'ERR_SIGN_NO_PRIVATE_KEY',
  'ERR_SIGN_CERT_NOT_NON_REPUDIATION',
  'ERR_SIGN_CERT_EXPIRED',
  'ERR_SIGN_CERT_NOT_YET_VALID',
  'ERR_SIGN_PKUP_OUTSIDE',
  'ERR_SIGN_CERT_REVOKED',
  'ERR_SIGN_CERT_UNTRUSTED',
  'ERR_SIGN_BAD_INPUT',
  'ERR_SIGN_CARD_REMOVED',
  'ERR_SIGN_CARD_FAILED',
  'ERR_SIGN_AUDIT_FAILED',
  'ERR_SIGN_CLOSED',
  'ERR_PKCS11_PIN_INCORRECT',
  'ERR_PKCS11_PIN_LOCKED',
  'ERR_PKCS11_TOKEN_NOT_FOUND',
  'ERR_PIN_BACKOFF',
  'ERR_PIN_PAGE_ONLY',
];
const TAG = 'Signing';

/** The signing routes as the OpenAPI document shows them (mounted by hand above: the HL7 route's order). */
const SIGN_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/api/v1/sign/eps',
    tag: TAG,
    summary:
      'Signs a batch of EPS SignedInfo payloads (NHS Credential Management signPrescription shape)',
    body: EpsBody,
    responses: {
      200: {
        description: 'Signatures, and the items that failed (per item).',
        schema: EpsBatchResultSchema,
      },
    },
    errors: [
      ...SIGN_ERRORS_COMMON,
      'ERR_SIGN_ALGORITHM_UNSUPPORTED',
      'ERR_SIGN_BATCH_TOO_LARGE',
      'ERR_SIGN_TIMESTAMP_INVALID',
    ],
  },
  {
    method: 'post',
    path: '/api/v1/sign/hl7',
    tag: TAG,
    summary:
      'Signs an HL7 v3 prescription: the XML itself (answer: the signed XML), or a JSON envelope { xml, algorithm?, pin? } (answer: JSON)',
    rawBody: {
      contentTypes: ['application/xml', 'text/xml', 'application/hl7-v3+xml', 'application/json'],
      description:
        'The HL7 v3 ParentPrescription (at most 2 MiB), or the JSON envelope; an X-Rxsign-Pin header is refused.',
    },
    responses: {
      200: {
        description:
          'The signed document (XML), or for the JSON envelope the signed document, signature, certificate and author time (JSON).',
        contentType: 'application/xml',
      },
    },
    errors: [
      ...SIGN_ERRORS_COMMON,
      'ERR_SIGN_BAD_PAYLOAD',
      'ERR_SIGN_SELF_CHECK_FAILED',
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'ERR_PIN_IN_HEADER',
    ],
  },
  {
    method: 'post',
    path: '/api/v1/sign/cms',
    tag: TAG,
    summary: 'Signs any content as CMS/CAdES-BES with the card’s non-repudiation key',
    body: CmsBody,
    responses: { 200: { description: 'The CMS SignedData.', schema: CmsResultSchema } },
    errors: SIGN_ERRORS_COMMON,
  },
];
