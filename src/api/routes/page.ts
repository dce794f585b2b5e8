/**
 * The agent's own page (docs/page.md): `GET /` and its script and style, static files from `src/page/`
 * (copied to `dist/src/page/` by the build), read once at start. Card and session status, PIN entry, role
 * choice, the web pages waiting for the user's approval (Allow once / Always allow / Deny) with the
 * remembered answers, the signing history and a verify panel.
 *
 * Rules:
 * - no inline script and no external asset: `script-src 'self'`, `style-src 'self'`, `connect-src 'self'`,
 *   everything else `'none'`; the page cannot be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`);
 * - the files hold no secret: another OS user may fetch them and learns nothing (the page's secret travels
 *   in the link's fragment, docs/security.md);
 * - the PIN is typed here, into the agent's page on loopback, never into a web application's page.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRouter, documented, type ApiRouter, type RouteDoc } from '../route-table.js';

/** The page's Content-Security-Policy: its own script and style only, no framing, no form posts, no base. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const FILES: readonly (readonly [string, string, string])[] = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/page.js', 'page.js', 'text/javascript; charset=utf-8'],
  ['/page.css', 'page.css', 'text/css; charset=utf-8'],
];

/** `src/page/` beside this file's folder (`dist/src/page/` when built). */
function pageDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'page');
}

/** The page's files as the OpenAPI document declares them. */
const PAGE_ROUTES: readonly RouteDoc[] = FILES.map(([path, file, type]) => ({
  method: 'get',
  path,
  tag: 'Page',
  summary:
    path === '/'
      ? 'The agent page: card, PIN entry, roles, approvals, history, verify'
      : `The page's ${file}`,
  responses: { 200: { description: `src/page/${file}`, contentType: type.split(';')[0] ?? type } },
  errors: [],
}));

export function pageRouter(dir: string = pageDir()): ApiRouter {
  const r = apiRouter();
  for (const [path, file, type] of FILES) {
    const body = readFileSync(join(dir, file));
    r.get(path, (_req, res) => {
      res.setHeader('content-security-policy', PAGE_CSP);
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('cross-origin-resource-policy', 'same-origin');
      res.type(type).send(body);
    });
  }
  return documented(r, PAGE_ROUTES);
}
