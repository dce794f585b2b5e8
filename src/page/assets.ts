/**
 * The agent page's static assets: the HTML, its script and its style, served as separate files so that the
 * page runs under `script-src 'self'` with no inline script (docs/security.md "The agent page").
 *
 * How the page authenticates: `rxsign open` (or the `open.html` file in the runtime folder) opens
 * `http://127.0.0.1:<port>/#page=<secret>`. The script moves the secret from the URL fragment (never sent to
 * a server, never in a log) to this origin's localStorage and sends it as `Authorization: Bearer` on every
 * call; the secret changes at each start of the agent. Without it the page shows how to open it and nothing
 * else: the HTML itself holds no secret, so another OS user fetching it learns nothing.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxsign agent</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body>
<h1>rxsign identity agent</h1>
<div class="box" id="unpaired" hidden>
  <strong>Open this page from its link.</strong>
  <p>For your safety the agent page works only when opened with its own link. Run <code>rxsign open</code> in a
  terminal (or open <code>open.html</code> in the agent's runtime folder).</p>
</div>
<div class="box" id="status" aria-live="polite">Loading…</div>
<section class="box" id="approvals" hidden aria-labelledby="approvals-title">
  <h2 id="approvals-title">Web pages asking</h2>
  <ul id="pending"></ul>
</section>
<form class="box" id="login" hidden>
  <label for="pin">Smartcard PIN</label>
  <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" required>
  <p id="pin-warning" class="err" role="alert" hidden></p>
  <label id="ack-label" hidden><input id="ack" type="checkbox"> I understand that a wrong PIN may lock my card</label>
  <button type="submit">Log in</button>
</form>
<form class="box" id="role" hidden>
  <label for="roleId">Choose the role you are working in</label>
  <select id="roleId" name="roleId"></select>
  <button type="submit">Select role</button>
</form>
<form class="box" id="logout" hidden><button type="submit">Log out</button></form>
<section class="box" id="origins-box" hidden aria-labelledby="origins-title">
  <h2 id="origins-title">Web pages you have answered</h2>
  <ul id="origins"></ul>
</section>
<p id="message" role="alert"></p>
</body></html>
`;

export const PAGE_CSS = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#212b32}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin:0 0 .5rem} .box{border:1px solid #d8dde0;border-radius:6px;padding:1rem;margin:1rem 0}
label{display:block;margin:.5rem 0 .2rem} input,select,button{font-size:1rem;padding:.4rem}
button{background:#005eb8;color:#fff;border:0;border-radius:4px;cursor:pointer;margin:.6rem .4rem 0 0}
button.deny{background:#d5281b} button.quiet{background:#4c6272}
ul{list-style:none;padding:0;margin:0} li{margin:.4rem 0}
#approvals{border-color:#ffb81c;border-width:3px}
.err{color:#d5281b} .ok{color:#007f3b} dt{font-weight:600} dd{margin:0 0 .4rem 0}
`;

export const PAGE_JS = `'use strict';
(() => {
const $ = (id) => document.getElementById(id);
const KEY = 'rxsign-page';
const m = /^#page=([A-Za-z0-9_-]{20,128})$/.exec(location.hash);
if (m) { localStorage.setItem(KEY, m[1]); history.replaceState(null, '', '/'); }
const secret = localStorage.getItem(KEY);
let unpaired = false;
function showUnpaired(){
  unpaired = true;
  $('unpaired').hidden = false;
  for (const id of ['status', 'approvals', 'login', 'role', 'logout', 'origins-box']) $(id).hidden = true;
}
async function call(path, body){
  const r = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: Object.assign({ 'authorization': 'Bearer ' + (secret || '') }, body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json().catch(() => ({}));
  if (r.status === 401 && j.code === 'ERR_UNAUTHORIZED') { showUnpaired(); throw j; }
  if (!r.ok) throw j;
  return j;
}
function el(tag, attrs, text){
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function show(s){
  const st = { 'no-card': 'Insert your smartcard.', 'card-present': 'Card inserted: enter your PIN to log in.', 'logging-in': 'Logging in…', 'role-required': 'Choose your role.', 'active': 'Logged in.' }[s.state] || s.state;
  const box = $('status');
  box.replaceChildren(el('strong', { id: 'state', 'data-state': s.state }, st));
  if (s.card) {
    const dl = el('dl');
    dl.append(el('dt', {}, 'Card'), el('dd', {}, s.card.label));
    if (s.name) dl.append(el('dt', {}, 'User'), el('dd', { id: 'user' }, s.name + ' (' + s.uid + ')'));
    if (s.selectedRole) dl.append(el('dt', {}, 'Role'), el('dd', { id: 'selected-role' }, s.selectedRole.orgName + ', ' + s.selectedRole.jobRole[2]));
    if (s.timeLeftSeconds !== undefined) dl.append(el('dt', {}, 'Session time left'), el('dd', {}, Math.round(s.timeLeftSeconds / 60) + ' min'));
    box.append(dl);
  }
  $('login').hidden = s.state !== 'card-present';
  // docs/pin.md: the card's PIN state; with few tries left the login needs the user's acknowledgement.
  const p = s.pin || {};
  const warn = p.locked ? 'Your card is locked: ask your Registration Authority to unlock it.'
    : p.finalTry ? 'Warning: one try is left. One more wrong PIN locks your card.'
    : p.triesLow ? 'Warning: your card has few PIN tries left. A wrong PIN may lock it.'
    : p.apiLoginBlocked ? 'After wrong PINs, log in here on the agent page.' : '';
  const wait = p.retryAfterMs > 0 ? ' Wait ' + Math.ceil(p.retryAfterMs / 1000) + ' s before trying again.' : '';
  $('pin-warning').textContent = warn + wait;
  $('pin-warning').hidden = !(warn || wait);
  $('ack-label').hidden = !(p.triesLow || p.finalTry);
  if ($('ack-label').hidden) $('ack').checked = false;
  $('logout').hidden = !(s.state === 'active' || s.state === 'role-required');
  $('role').hidden = s.state !== 'role-required';
  if (s.state === 'role-required') {
    // Rebuilt only when the roles change: the 1 s refresh must not undo the user's choice.
    const key = JSON.stringify(s.roles.map((r) => r.id));
    if ($('roleId').dataset.options !== key) {
      $('roleId').replaceChildren(...s.roles.map((r) => el('option', { value: r.id }, r.orgName + ' — ' + r.jobRole[2])));
      $('roleId').dataset.options = key;
    }
  }
}
let shown = '';
function showApprovals(a){
  // re-render only on change, so that a button is not replaced under the user's pointer
  const key = JSON.stringify(a);
  if (key === shown) return;
  shown = key;
  const pending = $('pending');
  pending.replaceChildren(...a.pending.map((p) => {
    const li = el('li', { 'data-id': p.id, 'data-origin': p.origin });
    li.append(el('div', { class: 'question' }, p.question));
    for (const [choice, label, cls] of [['once', 'Allow once', ''], ['always', 'Always allow', 'quiet'], ['deny', 'Deny', 'deny']]) {
      const b = el('button', { type: 'button', 'data-choice': choice, class: cls }, label);
      b.addEventListener('click', () => call('/api/v1/approvals/answer', { id: p.id, choice }).then(refreshApprovals, fail));
      li.append(b);
    }
    return li;
  }));
  $('approvals').hidden = a.pending.length === 0;
  $('origins').replaceChildren(...a.origins.map((o) => {
    const li = el('li', { 'data-origin': o.origin });
    li.append(el('span', {}, o.origin + ': ' + (o.decision === 'always' ? 'always allowed' : 'denied') + (o.source === 'config' ? ' (set in the configuration)' : '') + ' '));
    if (o.source === 'user') {
      const b = el('button', { type: 'button', class: 'quiet revoke' }, o.decision === 'always' ? 'Revoke' : 'Forget');
      b.addEventListener('click', () => call('/api/v1/approvals/revoke', { origin: o.origin }).then(refreshApprovals, fail));
      li.append(b);
    }
    return li;
  }));
  $('origins-box').hidden = a.origins.length === 0;
}
function fail(e){ $('message').className = 'err'; $('message').textContent = (e && e.message) ? e.message + (e.code ? ' (' + e.code + ')' : '') : 'failed'; }
async function refresh(){ if (unpaired) return; try { show(await call('/ticket-api/status')); } catch (e) { if (!unpaired) fail(e); } }
async function refreshApprovals(){ if (unpaired) return; try { showApprovals(await call('/api/v1/approvals')); } catch (e) { if (!unpaired) fail(e); } }
$('login').addEventListener('submit', async (ev) => { ev.preventDefault(); const pin = $('pin').value; $('pin').value = ''; $('message').textContent = '';
  const body = $('ack').checked && !$('ack-label').hidden ? { pin, acknowledgeFinalTry: true } : { pin };
  try { show(await call('/api/v1/login', body)); } catch (e) { fail(e); refresh(); } });
$('role').addEventListener('submit', async (ev) => { ev.preventDefault();
  try { show(await call('/api/v1/role', { roleId: $('roleId').value })); } catch (e) { fail(e); } });
$('logout').addEventListener('submit', async (ev) => { ev.preventDefault(); await call('/api/v1/logout', {}).catch(fail); refresh(); });
if (!secret) { showUnpaired(); return; }
refresh(); refreshApprovals();
setInterval(() => { refresh(); refreshApprovals(); }, 1000);
})();
`;
