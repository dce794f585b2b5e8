/**
 * The SSB role routes: role selection (docs/protocol/cis-login.md §1.5) and the SAML role assertion (§3).
 *
 * Rules this file enforces:
 * - RoleSelectionGP needs a valid session and one of its roles; it stores the role as the session's
 *   `ssbSessionRoleUid` and `ssbMode` (0 live, 1 training; default 0). Failures: 401 `NO_SESSION`,
 *   403 `UNKNOWN_ROLE`, 400 `MALFORMED_REQUEST` in an HTML body without the substring "OK".
 * - RoleAssertion needs a valid session with a selected role; it lists ALL the session's roles (§3).
 *   Failures are a SAML response with status `samlp:Requester` and a code: 401 `INVALID_SESSION`,
 *   403 `NO_ROLE_SELECTED`.
 * - Both reset the session's idle timer.
 */
import type { Request, Router } from 'express';
import { buildRoleAssertion, buildRoleAssertionError } from '../auth/wire/saml.js';
import { clientIp, type SimContext } from './context.js';
import { HTML_OK, htmlFailure, sendXml } from './replies.js';
import type { SimSession } from './sessions.js';

function queryString(req: Request, name: string): string | undefined {
  const v: unknown = (req.query as Record<string, unknown>)[name];
  return typeof v === 'string' && v.length <= 4096 ? v : undefined;
}

/**
 * The valid session named by `ticket`, after applying a pending `expire-session` fault; resets idle.
 *
 * @example
 * ```ts
 * const s = liveSession(ctx, req.path, ticket, true);
 * ```
 */
export function liveSession(
  ctx: SimContext,
  path: string,
  ticket: string,
  touch: boolean,
): SimSession | undefined {
  if (ctx.faults.take(path, ['expire-session']) !== undefined) {
    ctx.sessions.destroy(ticket);
  }
  return touch ? ctx.sessions.touch(ticket) : ctx.sessions.peek(ticket);
}

/**
 * Mounts the SSB role routes.
 *
 * @example
 * ```ts
 * mountSsb(router, ctx);
 * ```
 */
export function mountSsb(router: Router, ctx: SimContext): void {
  router.get('/saml/RoleSelectionGP.jsp', (req, res) => {
    const token = queryString(req, 'token');
    const role = queryString(req, 'selectedRoleUid');
    const mode = queryString(req, 'ssbMode') ?? '0';
    if (token === undefined || role === undefined || (mode !== '0' && mode !== '1')) {
      sendXml(res, 400, htmlFailure('MALFORMED_REQUEST'));
      return;
    }
    const session = liveSession(ctx, req.path, token, true);
    if (session === undefined) {
      sendXml(res, 401, htmlFailure('NO_SESSION'));
      return;
    }
    if (!session.roles.some((r) => r.id === role)) {
      sendXml(res, 403, htmlFailure('UNKNOWN_ROLE'));
      return;
    }
    session.selectedRoleUid = role;
    session.ssbMode = mode;
    ctx.logger.info({ event: 'role-selected', uid: session.user.uid, role }, 'role selected');
    sendXml(res, 200, HTML_OK);
  });

  router.get('/saml/RoleAssertion', (req, res) => {
    const token = queryString(req, 'token');
    const now = ctx.now();
    const session = token === undefined ? undefined : liveSession(ctx, req.path, token, true);
    if (token === undefined || session === undefined) {
      sendXml(res, 401, buildRoleAssertionError('INVALID_SESSION', now));
      return;
    }
    if (session.selectedRoleUid === undefined) {
      sendXml(res, 403, buildRoleAssertionError('NO_ROLE_SELECTED', now));
      return;
    }
    const xml = buildRoleAssertion(
      {
        uid: session.user.uid,
        cn: session.user.name,
        ssbSessionRoleUid: session.selectedRoleUid,
        ssbMode: session.ssbMode,
        ...(session.user.nhsOcsPrCode === undefined
          ? {}
          : { nhsOcsPrCode: session.user.nhsOcsPrCode }),
        roles: session.roles.map((r) => ({
          uniqueIdentifier: r.id,
          nhsIdCode: r.orgCode,
          o: r.orgName,
          nhsJobRole: r.jobRole,
          nhsJobRoleCode: r.jobRoleCode,
          businessFunctions: r.businessFunctions ?? [],
          businessFunctionCodes: r.businessFunctionCodes ?? [],
          areasOfWork: r.areasOfWork ?? [],
          areaOfWorkCodes: r.areaOfWorkCodes ?? [],
          workGroups: r.workGroups ?? [],
          workGroupCodes: r.workGroupCodes ?? [],
        })),
      },
      {
        ticket: token,
        issueInstant: now,
        authenticationInstant: session.createdAt,
        recipient: clientIp(req),
      },
    );
    sendXml(res, 200, xml);
  });
}
