/**
 * The agent's own page (GET /): card and session status, PIN entry and role selection. The PIN is typed here,
 * into the agent's page on loopback, never into a web application's page.
 */
import { defineRouter, route, type ApiRouter } from '../route-table.js';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rxsign agent</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#212b32}
 h1{font-size:1.4rem} .box{border:1px solid #d8dde0;border-radius:6px;padding:1rem;margin:1rem 0}
 label{display:block;margin:.5rem 0 .2rem} input,select,button{font-size:1rem;padding:.4rem}
 button{background:#005eb8;color:#fff;border:0;border-radius:4px;cursor:pointer;margin-top:.6rem}
 .err{color:#d5281b} .ok{color:#007f3b} dt{font-weight:600} dd{margin:0 0 .4rem 0}
</style></head>
<body>
<h1>rxsign identity agent</h1>
<div class="box" id="status" aria-live="polite">Loading…</div>
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
<p id="message" role="alert"></p>
<script>
const $ = (id) => document.getElementById(id);
function text(s){ return String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c])); }
async function call(path, body){
  const r = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers: {'content-type':'application/json'}, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw j;
  return j;
}
function show(s){
  const st = { 'no-card': 'Insert your smartcard.', 'card-present': 'Card inserted: enter your PIN to log in.', 'logging-in': 'Logging in…', 'role-required': 'Choose your role.', 'active': 'Logged in.' }[s.state] || s.state;
  let html = '<strong id="state" data-state="' + text(s.state) + '">' + text(st) + '</strong>';
  if (s.card) html += '<dl><dt>Card</dt><dd>' + text(s.card.label) + '</dd>';
  if (s.name) html += '<dt>User</dt><dd id="user">' + text(s.name) + ' (' + text(s.uid) + ')</dd>';
  if (s.selectedRole) html += '<dt>Role</dt><dd id="selected-role">' + text(s.selectedRole.orgName) + ', ' + text(s.selectedRole.jobRole[2]) + '</dd>';
  if (s.timeLeftSeconds !== undefined) html += '<dt>Session time left</dt><dd>' + Math.round(s.timeLeftSeconds/60) + ' min</dd>';
  if (s.card) html += '</dl>';
  $('status').innerHTML = html;
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
    const options = s.roles.map((r) => '<option value="' + text(r.id) + '">' + text(r.orgName) + ' — ' + text(r.jobRole[2]) + '</option>').join('');
    if ($('roleId').dataset.options !== options) { $('roleId').innerHTML = options; $('roleId').dataset.options = options; }
  }
}
async function refresh(){ try { show(await call('/ticket-api/status')); } catch (e) { $('message').textContent = e.title || e.message || 'agent not reachable'; } }
function fail(e){ $('message').className = 'err'; $('message').textContent = (e && (e.title || e.message)) ? (e.title || e.message) + (e.code ? ' (' + e.code + ')' : '') : 'failed'; }
$('login').addEventListener('submit', async (ev) => { ev.preventDefault(); const pin = $('pin').value; $('pin').value = ''; $('message').textContent = '';
  const body = $('ack').checked && !$('ack-label').hidden ? { pin, acknowledgeFinalTry: true } : { pin };
  try { show(await call('/api/v1/login', body)); } catch (e) { fail(e); refresh(); } });
$('role').addEventListener('submit', async (ev) => { ev.preventDefault();
  try { show(await call('/api/v1/role', { roleId: $('roleId').value })); } catch (e) { fail(e); } });
$('logout').addEventListener('submit', async (ev) => { ev.preventDefault(); await call('/api/v1/logout', {}).catch(fail); refresh(); });
refresh(); setInterval(refresh, 1000);
</script>
</body></html>`;

export function pageRouter(): ApiRouter {
  return defineRouter([
    route({
      method: 'get',
      path: '/',
      tag: 'Page',
      summary: 'The agent page: card, PIN entry, role selection',
      responses: { 200: { description: 'The page.', contentType: 'text/html' } },
      errors: [],
      handle: (_req, res) => {
        res.setHeader(
          'content-security-policy',
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'",
        );
        res.type('html').send(PAGE);
      },
    }),
  ]);
}
