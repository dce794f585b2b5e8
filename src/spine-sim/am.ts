/**
 * The Access Manager API (docs/protocol/cis-login.md §2). The paths are INFERRED from the Sun AM 7 / OpenSSO defaults
 * ([ORA] gjdup, gjdtj; [AM-C]); NHS never published them.
 *
 * Rules this file enforces:
 * - `/amserver/identity/isTokenValid?tokenid=` → `boolean=true|false` (does not reset idle);
 * - `/amserver/identity/attributes?subjectid=` → `userdetails.*` lines (does not reset idle); 401
 *   `exception.name=com.sun.identity.idsvcs.TokenExpired` for an invalid token;
 * - `/amserver/identity/logout?subjectid=` → 200, empty body, session destroyed;
 * - `POST /amserver/sessionservice` (PLL): GetSession (reset="true" resets idle) and DestroySession
 *   (DestroySessionID, else SessionID). `maxtime`/`maxidle` are minutes, `timeidle`/`timeleft` seconds (AM units).
 * - Parameters come from the query string or an urlencoded body, for GET and POST alike.
 */
import type { Request, Response, Router } from 'express';
import { decodeEntities } from '../auth/wire/gpobject.js';
import { bodyText, param, type SimContext } from './context.js';
import { sendText, sendXml } from './replies.js';
import type { SimSession } from './sessions.js';
import { liveSession } from './ssb.js';

function properties(ctx: SimContext, s: SimSession): [string, string][] {
  return [
    ['uid', s.user.uid],
    ['cn', s.user.name],
    ...(s.selectedRoleUid === undefined
      ? []
      : ([['ssbSessionRoleUid', s.selectedRoleUid]] as [string, string][])),
    ['ssbMode', s.ssbMode],
    ['max_idle_time', String(ctx.sessions.limits.maxIdleMinutes)],
    ['max_session_time', String(ctx.sessions.limits.maxSessionMinutes)],
  ];
}

function attr(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function sessionXml(ctx: SimContext, s: SimSession): string {
  const props = properties(ctx, s)
    .map(([k, v]) => `<Property name="${attr(k)}" value="${attr(v)}"></Property>`)
    .join('');
  const l = ctx.sessions.limits;
  return (
    `<Session sid="${attr(s.ticket)}" stype="user" cid="uid=${attr(s.user.uid)},ou=People,o=nhs" cdomain="o=nhs" ` +
    `maxtime="${l.maxSessionMinutes}" maxidle="${l.maxIdleMinutes}" maxcaching="3" ` +
    `timeidle="${ctx.sessions.timeIdleSeconds(s)}" timeleft="${ctx.sessions.timeLeftSeconds(s)}" state="valid">${props}</Session>`
  );
}

interface PllRequest {
  readonly reqid: string;
  readonly op: 'GetSession' | 'DestroySession';
  readonly reset: boolean;
  readonly target: string;
}

function unwrap(text: string): string {
  const m = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(text);
  return m ? (m[1] ?? '') : decodeEntities(text);
}

/** Parses a PLL RequestSet of SessionRequests; `undefined` when it is not one. */
function parsePll(text: string): PllRequest[] | undefined {
  if (!/<RequestSet\b/.test(text) || text.length > 65_536) {
    return undefined;
  }
  const out: PllRequest[] = [];
  for (const m of text.matchAll(/<Request\b[^>]*>([\s\S]*?)<\/Request>/g)) {
    const inner = unwrap(m[1] ?? '');
    const reqid =
      /<SessionRequest\b[^>]*\breqid\s*=\s*["']([^"']{0,32})["']/.exec(inner)?.[1] ?? '0';
    const get = /<GetSession\b([^>]*)>\s*<SessionID>([^<]{1,512})<\/SessionID>/.exec(inner);
    const destroy =
      /<DestroySession\b[^>]*>\s*<SessionID>([^<]{1,512})<\/SessionID>(?:\s*<DestroySessionID>([^<]{1,512})<\/DestroySessionID>)?/.exec(
        inner,
      );
    if (get) {
      const reset = /\breset\s*=\s*["']true["']/.test(get[1] ?? '');
      out.push({ reqid, op: 'GetSession', reset, target: decodeEntities((get[2] ?? '').trim()) });
    } else if (destroy) {
      out.push({
        reqid,
        op: 'DestroySession',
        reset: false,
        target: decodeEntities((destroy[2] ?? destroy[1] ?? '').trim()),
      });
    } else {
      return undefined;
    }
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Mounts the Access Manager routes.
 *
 * @example
 * ```ts
 * mountAm(router, ctx);
 * ```
 */
export function mountAm(router: Router, ctx: SimContext): void {
  const isTokenValid = (req: Request, res: Response): void => {
    const token = param(req, 'tokenid');
    const valid = token !== undefined && liveSession(ctx, req.path, token, false) !== undefined;
    sendText(res, 200, `boolean=${valid ? 'true' : 'false'}\n`);
  };
  const attributes = (req: Request, res: Response): void => {
    const token = param(req, 'subjectid');
    const s = token === undefined ? undefined : liveSession(ctx, req.path, token, false);
    if (token === undefined || s === undefined) {
      sendText(res, 401, 'exception.name=com.sun.identity.idsvcs.TokenExpired\n');
      return;
    }
    const lines = [`userdetails.token.id=${token}`];
    for (const [k, v] of properties(ctx, s)) {
      lines.push(`userdetails.attribute.name=${k}`, `userdetails.attribute.value=${v}`);
    }
    sendText(res, 200, `${lines.join('\n')}\n`);
  };
  const logout = (req: Request, res: Response): void => {
    const token = param(req, 'subjectid');
    if (token !== undefined) {
      ctx.sessions.destroy(token);
    }
    sendText(res, 200, '');
  };
  for (const [path, handler] of [
    ['/amserver/identity/isTokenValid', isTokenValid],
    ['/amserver/identity/attributes', attributes],
    ['/amserver/identity/logout', logout],
  ] as const) {
    router.get(path, handler);
    router.post(path, handler);
  }

  router.post('/amserver/sessionservice', (req, res) => {
    const text = bodyText(req);
    const requests = text === undefined ? undefined : parsePll(text);
    if (requests === undefined) {
      sendText(res, 400, 'malformed PLL request\n');
      return;
    }
    const responses = requests.map((r) => {
      let body: string;
      if (r.op === 'GetSession') {
        const s = liveSession(ctx, req.path, r.target, r.reset);
        body = s === undefined ? '<Exception>Invalid session ID.</Exception>' : sessionXml(ctx, s);
      } else {
        body = ctx.sessions.destroy(r.target)
          ? '<OK></OK>'
          : '<Exception>Invalid session ID.</Exception>';
      }
      const inner = `<SessionResponse vers="1.0" reqid="${attr(r.reqid)}"><${r.op}>${body}</${r.op}></SessionResponse>`;
      return `<Response><![CDATA[${inner}]]></Response>`;
    });
    sendXml(
      res,
      200,
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ResponseSet vers="1.0" svcid="Session" reqid="0">${responses.join('')}</ResponseSet>`,
    );
  });
}
