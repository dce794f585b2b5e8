/**
 * The agent's own page: GET / (HTML), /page.js, /page.css — card and session status, PIN entry, role
 * selection, and the web pages waiting for the user's approval (Allow once / Always allow / Deny) with the
 * remembered answers (revocable). The PIN is typed here, into the agent's page on loopback, never into a web
 * application's page. The page cannot be framed and runs no inline script (src/page/assets.ts).
 */
import { Router } from 'express';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from '../../page/assets.js';

/** The page's Content-Security-Policy: its own script and style only, no framing, no form posts, no base. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

export function pageRouter(): Router {
  const r = Router();
  const send = (path: string, type: string, body: string): void => {
    r.get(path, (_req, res) => {
      res.setHeader('content-security-policy', PAGE_CSP);
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('cross-origin-resource-policy', 'same-origin');
      res.type(type).send(body);
    });
  };
  send('/', 'html', PAGE_HTML);
  send('/page.js', 'application/javascript', PAGE_JS);
  send('/page.css', 'text/css', PAGE_CSS);
  return r;
}
