/**
 * The simulator's sign-in pages (plain HTML, one inline script with a CSP nonce).
 *
 * The smartcard section asks the rxsign agent (its URL is configured) for a card assertion over this
 * sign-in's nonce and the issuer, then posts it back; the agent takes the page's origin from the browser's
 * Origin header. When the agent refuses (no card session, a PIN needed again), the page shows the agent's
 * message and a link to the agent's page, and the user tries again after logging in there.
 *
 * Rules: every value written into the page is HTML-escaped; the page never sees a PIN.
 */

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#212b32}
h1{font-size:1.4rem}section{border:1px solid #aeb7bd;border-radius:4px;padding:1rem;margin:1rem 0}
.banner{background:#fff9c4;border:1px solid #ffeb3b;padding:.5rem 1rem}.err{color:#d5281b}
button{font-size:1rem;padding:.4rem 1rem}label{display:block;margin:.5rem 0}`;

export interface LoginPageInput {
  readonly uid: string;
  readonly basePath: string;
  readonly nonce: string;
  readonly audience: string;
  readonly agentUrl: string;
  readonly authAfter: number;
  readonly freshLogin: boolean;
  readonly usernameAllowed: boolean;
  readonly cspNonce: string;
  readonly error?: string;
}

/**
 * The login page of one interaction.
 *
 * @example
 * ```ts
 * res.send(loginPage({ uid, basePath, nonce, audience: issuer, agentUrl, authAfter: 0, freshLogin: false,
 *   usernameAllowed: true, cspNonce }));
 * ```
 */
export function loginPage(p: LoginPageInput): string {
  const action = `${p.basePath}/interaction/${encodeURIComponent(p.uid)}`;
  const data = escapeHtml(
    JSON.stringify({
      nonce: p.nonce,
      audience: p.audience,
      agent: p.agentUrl,
      authAfter: p.authAfter,
    }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CIS2 Authentication (rxsign simulator)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${p.cspNonce}">${STYLE}</style></head>
<body>
<p class="banner">Local simulator of NHS CIS2 Authentication, for development and tests only. The smartcard step
is rxsign's own protocol, not NHS's.</p>
<h1>Sign in</h1>
${p.error ? `<p id="error" class="err" role="alert">${escapeHtml(p.error)}</p>` : ''}
<section id="smartcard" data-config="${data}">
<h2>Smartcard</h2>
<p>${
    p.freshLogin
      ? 'This application asks you to enter your PIN again: log in again on the rxsign agent page, then try again.'
      : 'Uses your card session in the rxsign agent: no second PIN while you are logged in there.'
  }</p>
<p id="card-status" role="status" aria-live="polite">Asking the rxsign agent…</p>
<p><a id="agent-link" href="${escapeHtml(p.agentUrl)}/" target="_blank" rel="noopener">Open the rxsign agent page</a></p>
<button id="card-retry" type="button">Try again</button>
<form id="card-form" method="post" action="${escapeHtml(action)}/smartcard">
<input type="hidden" name="assertion" id="assertion"></form>
</section>
${
  p.usernameAllowed
    ? `<section id="username">
<h2>Test user without a card (AAL2, like NHS's hosted mock)</h2>
<form method="post" action="${escapeHtml(action)}/username">
<label>UID <input name="uid" id="uid" inputmode="numeric" autocomplete="off" required pattern="[0-9]{1,32}"></label>
<label>Role ID (optional) <input name="roleId" id="roleId" inputmode="numeric" autocomplete="off" pattern="[0-9]{1,32}"></label>
<button type="submit">Sign in without a card</button>
</form></section>`
    : ''
}
<p><a href="${escapeHtml(action)}/abort">Cancel</a></p>
<script nonce="${p.cspNonce}">
(function () {
  var section = document.getElementById('smartcard');
  var cfg = JSON.parse(section.getAttribute('data-config'));
  var status = document.getElementById('card-status');
  var busy = false;
  async function run() {
    if (busy) return;
    busy = true;
    status.textContent = 'Asking the rxsign agent…';
    status.className = '';
    try {
      var body = { nonce: cfg.nonce, audience: cfg.audience };
      if (cfg.authAfter > 0) body.authAfter = cfg.authAfter;
      var res = await fetch(cfg.agent + '/api/v1/cis2/assertion', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
        credentials: 'omit', cache: 'no-store'
      });
      var json = await res.json().catch(function () { return {}; });
      if (res.ok && typeof json.assertion === 'string') {
        status.textContent = 'Card assertion received: signing you in…';
        document.getElementById('assertion').value = json.assertion;
        document.getElementById('card-form').submit();
        return;
      }
      status.textContent = (json.message || 'The rxsign agent refused') + (json.code ? ' (' + json.code + ')' : '') + '. Log in on the rxsign agent page, then try again.';
      status.className = 'err';
      status.setAttribute('data-code', json.code || 'unknown');
    } catch (e) {
      status.textContent = 'The rxsign agent is not reachable at ' + cfg.agent + '. Start it, then try again.';
      status.className = 'err';
      status.setAttribute('data-code', 'unreachable');
    }
    busy = false;
  }
  document.getElementById('card-retry').addEventListener('click', run);
  run();
})();
</script>
</body></html>`;
}

/**
 * The role picker (several roles, username sign-in), as CIS2 shows for authenticators other than the
 * legacy Identity Agent.
 *
 * @example
 * ```ts
 * res.send(rolePage({ action, uid: '555000000002', roles, cspNonce }));
 * ```
 */
export function rolePage(p: {
  action: string;
  uid: string;
  roles: readonly { id: string; jobRole: string; orgName: string }[];
  cspNonce: string;
}): string {
  const options = p.roles
    .map(
      (r) =>
        `<label><input type="radio" name="roleId" value="${escapeHtml(r.id)}" required> ${escapeHtml(r.jobRole)} — ${escapeHtml(r.orgName)} (${escapeHtml(r.id)})</label>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Select your role (rxsign CIS2 simulator)</title>
<style nonce="${p.cspNonce}">${STYLE}</style></head><body>
<h1>Select your role</h1>
<form method="post" action="${escapeHtml(p.action)}">
<input type="hidden" name="uid" value="${escapeHtml(p.uid)}">
${options}
<button type="submit">Continue</button></form></body></html>`;
}
