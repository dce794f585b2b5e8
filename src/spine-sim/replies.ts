/**
 * The bodies the simulator writes, in the captured shapes (docs/protocol/cis-login.md §1.2, §1.4, §1.5, §1.6).
 */
import type { Response } from 'express';
import { buildGpObject, SERVER_DOCTYPE, type GpParamInput } from '../auth/wire/gpobject.js';
import { formatRoleText } from '../auth/wire/roles.js';
import { LOGIN_REJECTIONS, type LoginRejectionCode } from './errors.js';
import type { SimSession, SessionLimits } from './sessions.js';

/** `<HTML><STATUS>OK</STATUS></HTML>` (§1.5, §1.6). */
export const HTML_OK = '<HTML><STATUS>OK</STATUS></HTML>';

/**
 * The HTML failure body of RoleSelectionGP/authlogout. Clients test for the substring `OK` (§1.5), so the
 * body must never contain it: the codes are chosen accordingly (`NO_SESSION`, `UNKNOWN_ROLE`, …).
 *
 * @example
 * ```ts
 * htmlFailure('UNKNOWN_ROLE'); // '<HTML><STATUS>FAILED</STATUS><ERROR>UNKNOWN_ROLE</ERROR></HTML>'
 * ```
 */
export function htmlFailure(code: 'NO_SESSION' | 'UNKNOWN_ROLE' | 'MALFORMED_REQUEST'): string {
  return `<HTML><STATUS>FAILED</STATUS><ERROR>${code}</ERROR></HTML>`;
}

/** Sends an XML-ish text body with a status. */
export function sendXml(res: Response, status: number, body: string): void {
  res.status(status).type('text/xml; charset=UTF-8').send(body);
}

/** Sends a plain-text body with a status. */
export function sendText(res: Response, status: number, body: string): void {
  res.status(status).type('text/plain; charset=UTF-8').send(body);
}

/**
 * The authactivate reply (§1.2, HIPPO-OIDC template order).
 *
 * @example
 * ```ts
 * activateReply({ base, logSessionId, challenge, signature });
 * ```
 */
export function activateReply(a: {
  base: string;
  logSessionId: string;
  challenge: string;
  signature: string;
}): string {
  return buildGpObject(
    [
      { name: 'gas_version', value: '5.2.7' },
      { name: 'signature', value: a.signature },
      { name: 'server_ip', value: '127.0.0.1' },
      { name: 'ssp_url', value: '' },
      { name: 'app_url', value: 'NHST' },
      { name: 'log_session_id', value: a.logSessionId },
      { name: 'service', value: 'ACTIVATION' },
      { name: 'error_url', value: `${a.base}/login/error` },
      { name: 'ticket', value: '' },
      { name: 'auth_method', value: '3' },
      { name: 'reply_url', value: `${a.base}/login/authvalidate` },
      { name: 'challenge', value: a.challenge },
      { name: 'download_gac_url', value: 'http://www.gemauth.com/authclient' },
      { name: 'latest_gac_version', value: '3.9.1' },
    ],
    { doctype: SERVER_DOCTYPE },
  );
}

/**
 * The authvalidate success reply (§1.4 INT capture order), role text with a raw `&`.
 *
 * @example
 * ```ts
 * validateReply({ base, logSessionId, session, limits });
 * ```
 */
export function validateReply(a: {
  base: string;
  logSessionId: string;
  session: SimSession;
  limits: SessionLimits;
}): string {
  const roles: GpParamInput[] = a.session.roles.map((r, i) => ({
    name: `nhsjobrole${i}`,
    attributes: { id: r.id, orgcode: r.orgCode },
    value: formatRoleText(r.orgName, r.jobRole),
  }));
  return buildGpObject(
    [
      { name: 'log_session_id', value: a.logSessionId },
      { name: 'error_url', value: `${a.base}/login/error` },
      { name: 'server_ip', value: '127.0.0.1' },
      { name: 'cn', value: a.session.user.name },
      ...roles,
      { name: 'gas_version', value: '5.2.7' },
      { name: 'sso_ticket', value: a.session.ticket },
      { name: 'sso_domain', value: '.nis.nhs.uk' },
      { name: 'sso_session_url', value: `${a.base}/login/ssoupdate` },
      { name: 'sso_max_session_time', value: String(a.limits.maxSessionMinutes) },
      { name: 'sso_keep_alive', value: 'false' },
      { name: 'sso_session_time', value: String(a.limits.maxIdleMinutes) },
      { name: 'sso_logout_url', value: `${a.base}/login/authlogout` },
      { name: 'auth_method', value: '3' },
      { name: 'app_url', value: 'NHST' },
      { name: 'service', value: 'AUTHENTICATION' },
    ],
    { doctype: SERVER_DOCTYPE, ampersand: 'raw' },
  );
}

/**
 * A refused request: the reply shape without `sso_ticket`, plus `error` and `error_description`
 * (the simulator's choice; the real shape is not public, docs/protocol/cis-login.md §6).
 *
 * @example
 * ```ts
 * rejectReply({ base, logSessionId: '', service: 'AUTHENTICATION', code: 'UNKNOWN_USER' });
 * ```
 */
export function rejectReply(a: {
  base: string;
  logSessionId: string;
  service: string;
  code: LoginRejectionCode;
}): string {
  return buildGpObject(
    [
      { name: 'log_session_id', value: a.logSessionId },
      { name: 'error_url', value: `${a.base}/login/error` },
      { name: 'server_ip', value: '127.0.0.1' },
      { name: 'gas_version', value: '5.2.7' },
      { name: 'error', value: a.code },
      { name: 'error_description', value: LOGIN_REJECTIONS[a.code].description },
      { name: 'auth_method', value: '3' },
      { name: 'app_url', value: 'NHST' },
      { name: 'service', value: a.service },
    ],
    { doctype: SERVER_DOCTYPE },
  );
}
