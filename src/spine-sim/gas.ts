/**
 * The GAS login routes (docs/protocol/cis-login.md §1.2–§1.7): authactivate, authvalidate, authlogout, ssoupdate.
 *
 * Rules this file enforces:
 * - Bodies are parsed leniently whatever the Content-Type (§1.1); a repeated parameter is refused.
 * - authactivate is stateless: the challenge carries its own time and HMAC (challenge.ts).
 * - A refused login is a gpOBJECT without `sso_ticket`, with `error` and `error_description`, and a 4xx status
 *   (errors.ts `LOGIN_REJECTIONS`).
 * - Tickets and challenges are never logged: only the ticket's fingerprint.
 */
import type { Request, Response, Router } from 'express';
import { createChallenge } from '../auth/wire/challenge.js';
import { gpParamMap, parseGpObject } from '../auth/wire/gpobject.js';
import { baseUrl, bodyText, clientIp, type SimContext } from './context.js';
import { LOGIN_REJECTIONS, type LoginRejectionCode } from './errors.js';
import { checkLogin, LoginRejected } from './login-check.js';
import { activateReply, HTML_OK, rejectReply, sendXml, validateReply } from './replies.js';
import { ticketFingerprint } from './sessions.js';

const LOG_SESSION_ID = /^[A-Za-z0-9+/=_-]{1,64}$/;

/** Parses the body as a gpOBJECT; `undefined` when it is not one. */
function readParams(req: Request): ReadonlyMap<string, string> | undefined {
  const text = bodyText(req);
  if (text === undefined) {
    return undefined;
  }
  try {
    return gpParamMap(parseGpObject(text), { onDuplicate: 'throw' });
  } catch {
    return undefined;
  }
}

function logSessionIdOf(params: ReadonlyMap<string, string> | undefined): string {
  const id = params?.get('log_session_id') ?? '';
  return LOG_SESSION_ID.test(id) ? id : '';
}

/**
 * Sends a gpOBJECT refusal.
 *
 * @example
 * ```ts
 * reject(ctx, req, res, 'MALFORMED_REQUEST', 'AUTHENTICATION', '');
 * ```
 */
export function reject(
  ctx: SimContext,
  req: Request,
  res: Response,
  code: LoginRejectionCode,
  service: string,
  logSessionId: string,
): void {
  sendXml(
    res,
    LOGIN_REJECTIONS[code].status,
    rejectReply({ base: baseUrl(ctx, req), logSessionId, service, code }),
  );
}

/**
 * Mounts the GAS login routes.
 *
 * @example
 * ```ts
 * mountGas(router, ctx);
 * ```
 */
export function mountGas(router: Router, ctx: SimContext): void {
  router.post('/login/authactivate', (req, res) => {
    const params = readParams(req);
    const logSessionId = logSessionIdOf(params);
    if (params === undefined || (params.has('service') && params.get('service') !== 'ACTIVATION')) {
      reject(ctx, req, res, 'MALFORMED_REQUEST', 'ACTIVATION', logSessionId);
      return;
    }
    const issued = createChallenge(ctx.serverKey, ctx.now());
    ctx.logger.info({ event: 'authactivate', logSessionId }, 'challenge issued');
    sendXml(
      res,
      200,
      activateReply({
        base: baseUrl(ctx, req),
        logSessionId,
        challenge: issued.challenge,
        signature: issued.signature,
      }),
    );
  });

  router.post('/login/authvalidate', async (req, res) => {
    const params = readParams(req);
    const logSessionId = logSessionIdOf(params);
    if (params === undefined) {
      reject(ctx, req, res, 'MALFORMED_REQUEST', 'AUTHENTICATION', logSessionId);
      return;
    }
    const fault = ctx.faults.take(req.path, ['reject-signature', 'zero-roles']);
    try {
      if (fault === 'reject-signature') {
        throw new LoginRejected('BAD_SIGNATURE', { detail: 'fault injected' });
      }
      const user = await checkLogin(params, ctx);
      const roles = fault === 'zero-roles' ? [] : user.roles;
      const session = ctx.sessions.create(user, roles, clientIp(req));
      ctx.logger.info(
        {
          event: 'authvalidate',
          uid: user.uid,
          roles: roles.length,
          session: ticketFingerprint(session.ticket),
        },
        'login accepted',
      );
      sendXml(
        res,
        200,
        validateReply({
          base: baseUrl(ctx, req),
          logSessionId,
          session,
          limits: ctx.sessions.limits,
        }),
      );
    } catch (err) {
      if (!(err instanceof LoginRejected)) {
        throw err;
      }
      ctx.logger.info(
        { event: 'authvalidate', code: err.code, reason: err.message },
        'login refused',
      );
      reject(ctx, req, res, err.code, 'AUTHENTICATION', logSessionId);
    }
  });

  // §1.6: GET with a body (NHOS) or POST (AF-PY). Logging out an unknown ticket is OK (idempotent).
  const logout = (req: Request, res: Response): void => {
    const params = readParams(req);
    const ticket = params?.get('sso_ticket');
    if (params === undefined || ticket === undefined || ticket === '') {
      reject(ctx, req, res, 'MALFORMED_REQUEST', 'LOGOUT', logSessionIdOf(params));
      return;
    }
    const existed = ctx.sessions.destroy(ticket);
    ctx.logger.info({ event: 'authlogout', session: ticketFingerprint(ticket), existed }, 'logout');
    sendXml(res, 200, HTML_OK);
  };
  router.get('/login/authlogout', logout);
  router.post('/login/authlogout', logout);

  // §1.7: the keep-alive format is unknown; accept anything, refresh the session if a ticket is recognisable.
  const keepAlive = (req: Request, res: Response): void => {
    const q: unknown = (req.query as Record<string, unknown>).token;
    const ticket = typeof q === 'string' ? q : readParams(req)?.get('sso_ticket');
    if (ticket !== undefined) {
      if (ctx.faults.take(req.path, ['expire-session']) !== undefined) {
        ctx.sessions.destroy(ticket);
      }
      ctx.sessions.touch(ticket);
    }
    sendXml(res, 200, HTML_OK);
  };
  router.get('/login/ssoupdate', keepAlive);
  router.post('/login/ssoupdate', keepAlive);

  router.get('/login/error', (_req, res) => {
    sendXml(res, 200, '<HTML><STATUS>ERROR</STATUS></HTML>');
  });
}
