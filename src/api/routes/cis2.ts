/**
 * The card assertion for CIS2-style sign-in (docs/cis2-sign-in.md; the protocol is rxsign's own, see
 * src/cis2/card-assertion.ts). Routes:
 *   POST /api/v1/cis2/assertion  { nonce, audience, authAfter? } → { assertion, expiresIn }
 *   GET  /api/v1/cis2/session                                    → { active, cardSessionId? }
 *
 * Rules this router enforces:
 * - the assertion's `origin` is the request's Origin header (set by the browser), never a body field; a
 *   request without one is refused; which origins may call at all is the app's Origin allowlist;
 * - no PIN is ever asked here: with no live card session (or no selected role) the caller is told to log in
 *   on the agent page; `authAfter` (unix seconds) refuses a session whose PIN login is older;
 * - the signature is the card's, with its AUTHENTICATION key (CKM_SHA256_RSA_PKCS through the token port);
 * - CORS headers go only to origins the Origin guard has already allowed.
 */
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { z } from 'zod';
import { type Agent, authError } from '../../auth/index.js';
import { buildCardAssertion, CARD_ASSERTION_LIFETIME_S, NONCE_PATTERN } from '../../cis2/index.js';
import { cis2Error } from '../../cis2/index.js';
import { parseCertificate, type CertificateInfo } from '../../cms/index.js';
import { setPreflightHeaders } from '../../cors.js';
import type { TokenPort } from '../../pkcs11/index.js';
import { defineRouter, route, type ApiRouter } from '../route-table.js';
import { parseBody } from '../validate.js';

const TAG = 'CIS2 sign-in';

const Request = z
  .object({
    nonce: z.string().regex(NONCE_PATTERN, 'must be 16 to 128 base64url characters'),
    audience: z
      .string()
      .max(2048)
      .refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL'),
    authAfter: z.number().int().min(0).max(1e11).optional(),
  })
  .strict();

export interface Cis2RouterOptions {
  readonly agent: Agent;
  readonly port: TokenPort;
  /** CA certificates the agent knows (its trust folder): the chain sent in `x5c` is built from them. */
  readonly cas: () => readonly CertificateInfo[];
  /** Unix ms (tests). */
  readonly now?: () => number;
}

function cors(req: { headers: { origin?: string | undefined } }, res: Response): void {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
  }
}

/** The card session's opaque id: stable for one PIN login, new for the next. */
export function cardSessionId(serial: string, uid: string, startedAt: string): string {
  return createHash('sha256')
    .update(`rxsign-card-session|${serial}|${uid}|${startedAt}`)
    .digest('base64url')
    .slice(0, 32);
}

function chainFor(leafIssuer: string, cas: readonly CertificateInfo[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let issuer = leafIssuer;
  for (let i = 0; i < 8; i++) {
    const ca = cas.find((c) => c.subject === issuer && c.subject !== c.issuer);
    if (!ca) {
      break;
    }
    out.push(ca.der);
    issuer = ca.issuer;
  }
  return out;
}

/**
 * @example
 * ```ts
 * app.use(cis2Router({ agent, port, cas: () => [...trust.anchors, ...trust.intermediates] }));
 * ```
 */
export function cis2Router(o: Cis2RouterOptions): ApiRouter {
  const now = o.now ?? Date.now;
  const preflight = (path: string) =>
    route({
      method: 'options',
      path,
      tag: TAG,
      summary: 'CORS preflight (answered for origins the Origin guard allows)',
      responses: {
        204: { description: 'Allowed methods and headers.', contentType: 'text/plain' },
      },
      errors: [],
      handle: (req, res) => {
        cors(req, res);
        setPreflightHeaders(req.headers, res, 'content-type');
        res.status(204).end();
      },
    });

  return defineRouter([
    preflight('/api/v1/cis2/assertion'),
    preflight('/api/v1/cis2/session'),
    route({
      method: 'post',
      path: '/api/v1/cis2/assertion',
      tag: TAG,
      summary:
        'A card assertion for CIS2-style sign-in, signed with the card’s authentication key (docs/cis2-sign-in.md)',
      description: 'The assertion’s origin is the request’s Origin header; no PIN is asked here.',
      responses: {
        200: {
          description: 'The assertion (a JWS) and its lifetime in seconds.',
          schema: z.object({ assertion: z.string(), expiresIn: z.number().int() }),
        },
      },
      errors: [
        'ERR_CIS2_ORIGIN_REQUIRED',
        'ERR_CIS2_ROLE_REQUIRED',
        'ERR_CIS2_NO_SESSION',
        'ERR_CIS2_FRESH_LOGIN_REQUIRED',
        'ERR_NO_CERT_FOUND',
        'ERR_PKCS11_CARD_REMOVED',
      ],
      handle: async (req, res) => {
        cors(req, res);
        const origin = req.headers.origin;
        if (origin === undefined || origin === 'null') {
          throw cis2Error('ERR_CIS2_ORIGIN_REQUIRED');
        }
        const body = parseBody(Request, req.body);
        const s = o.agent.status();
        const card = o.agent.card;
        if (s.state === 'role-required') {
          throw cis2Error('ERR_CIS2_ROLE_REQUIRED');
        }
        if (s.state !== 'active' || !s.uid || !s.selectedRole || !s.sessionStartedAt || !card) {
          throw cis2Error('ERR_CIS2_NO_SESSION');
        }
        const authTime = Math.floor(Date.parse(s.sessionStartedAt) / 1000);
        if (body.authAfter !== undefined && authTime < body.authAfter) {
          throw cis2Error('ERR_CIS2_FRESH_LOGIN_REQUIRED');
        }
        const token = { serial: card.serial };
        const auth = (await o.port.certificates(token)).find(
          (c) => c.purpose === 'authentication' && c.hasPrivateKey,
        );
        if (!auth) {
          throw authError('ERR_NO_CERT_FOUND');
        }
        const leaf = parseCertificate(auth.der);
        const assertion = await buildCardAssertion({
          uid: s.uid,
          selectedRoleId: s.selectedRole.id,
          nonce: body.nonce,
          audience: body.audience,
          origin,
          authTime,
          cardSessionId: cardSessionId(card.serial, s.uid, s.sessionStartedAt),
          chain: [auth.der, ...chainFor(leaf.issuer, o.cas())],
          now: now(),
          sign: (data) =>
            o.port.sign(token, { keyId: auth.id, mechanism: 'SHA256_RSA_PKCS', data }),
        });
        res.json({ assertion, expiresIn: CARD_ASSERTION_LIFETIME_S });
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/cis2/session',
      tag: TAG,
      summary: 'Whether a card session is live, and its opaque id',
      responses: {
        200: {
          description: 'The card session.',
          schema: z.object({ active: z.boolean(), cardSessionId: z.string().optional() }),
        },
      },
      errors: [],
      handle: (req, res) => {
        cors(req, res);
        const s = o.agent.status();
        const card = o.agent.card;
        res.json(
          s.state === 'active' && s.uid && s.sessionStartedAt && card
            ? { active: true, cardSessionId: cardSessionId(card.serial, s.uid, s.sessionStartedAt) }
            : { active: false },
        );
      },
    }),
  ]);
}
