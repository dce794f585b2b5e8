// The agent page (docs/page.md). Served by the agent itself under `script-src 'self'`: no inline script,
// no external asset. How it authenticates: the agent's link carries a per-start secret in the URL fragment
// (`#page=…`, never sent to a server); this script keeps it in this origin's localStorage and sends it as
// `Authorization: Bearer` on every call, including the event stream (read with fetch, since EventSource
// cannot send a header). Everything it shows comes from the agent's API (docs/api.md); it never polls: the
// event stream says when something changed, and the page reads the current state then.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'rxsign-page';
  const m = /^#page=([A-Za-z0-9_-]{20,128})$/.exec(location.hash);
  if (m) {
    localStorage.setItem(KEY, m[1]);
    history.replaceState(null, '', '/');
  }
  const secret = localStorage.getItem(KEY);
  let unpaired = false;
  let countdown = undefined;
  let retryTimer = undefined;

  const STATES = {
    'no-card': 'Insert your smartcard.',
    'card-present': 'Smartcard inserted: enter your PIN to log in.',
    'logging-in': 'Logging in…',
    'role-required': 'Logged in: choose your role.',
    active: 'Logged in.',
  };

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      e.setAttribute(k, v);
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function showUnpaired() {
    unpaired = true;
    $('unpaired').hidden = false;
    for (const id of ['status', 'approvals', 'login', 'role', 'logout', 'origins-box', 'history']) {
      $(id).hidden = true;
    }
    $('live').textContent = 'Not connected: open the page from its link.';
  }

  async function call(path, body) {
    const r = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: Object.assign(
        { authorization: 'Bearer ' + (secret || '') },
        body === undefined ? {} : { 'content-type': 'application/json' },
      ),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json().catch(() => ({}));
    // 401 ERR_UNAUTHORIZED: the page's secret is not (or no longer) the agent's; a wrong PIN is a 401 too.
    if (r.status === 401 && j.code === 'ERR_UNAUTHORIZED') {
      showUnpaired();
    }
    if (!r.ok) {
      throw j;
    }
    return j;
  }

  function say(text, ok) {
    $('message').className = ok ? 'ok' : 'err';
    $('message').textContent = text;
  }

  function fail(e) {
    const text = e && (e.message || e.title || (typeof e.detail === 'string' ? e.detail : ''));
    say(text ? text + (e.code ? ' (' + e.code + ')' : '') : 'The agent did not answer.', false);
  }

  function roleText(r) {
    const job = Array.isArray(r.jobRole) ? r.jobRole[2] || r.jobRole[0] : r.jobRole;
    return job + ' at ' + r.orgName + (r.orgCode ? ' (' + r.orgCode + ')' : '');
  }

  function minutes(seconds) {
    const m = Math.max(0, Math.floor(seconds / 60));
    return m >= 60 ? Math.floor(m / 60) + ' h ' + (m % 60) + ' min' : m + ' min';
  }

  /** The card, session, PIN and role forms from the session status (GET /ticket-api/status). */
  function showSession(s, agentStatus) {
    const state = $('state');
    state.dataset.state = s.state;
    state.textContent = STATES[s.state] || s.state;
    const facts = $('facts');
    facts.replaceChildren();
    const fact = (name, value, id) => {
      facts.append(el('dt', {}, name), el('dd', id ? { id } : {}, value));
    };
    fact('Smartcard', s.card ? s.card.label + ' (serial ' + s.card.serial + ')' : 'none', 'card');
    if (s.name) {
      fact('User', s.name + ' (' + s.uid + ')', 'user');
    }
    if (s.selectedRole) {
      fact('Role', roleText(s.selectedRole), 'selected-role');
    }
    if (s.timeLeftSeconds !== undefined) {
      fact('Session time left', minutes(s.timeLeftSeconds), 'time-left');
      startCountdown(s.timeLeftSeconds);
    } else {
      startCountdown(undefined);
    }
    if (agentStatus && agentStatus.broker) {
      const b = agentStatus.broker;
      fact(
        'Spine',
        b.reachable === false
          ? 'not reachable (' + b.url + ')'
          : b.reachable
            ? 'reachable'
            : 'not yet contacted',
        'broker',
      );
    }
    const pin = s.pin || {};
    $('locked').hidden = !pin.locked;
    $('login').hidden = s.state !== 'card-present' || pin.locked === true;
    const warnings = [];
    if (pin.finalTry) {
      warnings.push('Warning: one try is left. One more wrong PIN locks your card.');
    } else if (pin.triesLow) {
      warnings.push('Warning: your card has few PIN tries left. A wrong PIN may lock it.');
    } else if (pin.failures > 0) {
      warnings.push('The last PIN was wrong. Check it and try again.');
    }
    clearTimeout(retryTimer);
    if (pin.retryAfterMs > 0) {
      warnings.push('Wait ' + Math.ceil(pin.retryAfterMs / 1000) + ' s before the next try.');
      // The wait ends without an event: read the state again then.
      retryTimer = setTimeout(refreshSession, pin.retryAfterMs + 50);
    }
    const warning = warnings.join(' ');
    $('pin-warning').textContent = warning;
    $('pin-warning').hidden = warning === '';
    $('ack-label').hidden = !(pin.triesLow || pin.finalTry);
    const roles = s.roles || [];
    const choose = s.state === 'role-required' || (s.state === 'active' && roles.length > 1);
    $('role').hidden = !choose;
    $('role-title').textContent = s.state === 'active' ? 'Switch role' : 'Your role';
    if (choose) {
      const key = s.uid + ':' + roles.map((r) => r.id).join(',');
      if ($('roleId').dataset.for !== key) {
        $('roleId').replaceChildren(
          ...roles.map((r) => el('option', { value: r.id }, roleText(r))),
        );
        $('roleId').dataset.for = key;
      }
      if (s.selectedRole) {
        $('roleId').value = s.selectedRole.id;
      }
    }
    $('logout').hidden = !(s.state === 'active' || s.state === 'role-required');
  }

  function startCountdown(seconds) {
    clearInterval(countdown);
    if (seconds === undefined) {
      return;
    }
    const end = Date.now() + seconds * 1000;
    countdown = setInterval(() => {
      const left = $('time-left');
      if (left) {
        left.textContent = minutes((end - Date.now()) / 1000);
      }
    }, 15_000);
  }

  async function refreshSession() {
    if (unpaired) {
      return;
    }
    try {
      const [s, agentStatus] = await Promise.all([
        call('/ticket-api/status'),
        call('/api/v1/status').catch(() => undefined),
      ]);
      showSession(s, agentStatus);
    } catch (e) {
      if (!unpaired) {
        fail(e);
      }
    }
  }

  let shownApprovals = '';
  function details(p) {
    const box = el('div', { class: 'details' });
    const rx = (p.details && p.details.prescriptions) || [];
    for (const d of rx) {
      const dl = el('dl');
      if (d.prescriptionId) {
        dl.append(el('dt', {}, 'Prescription'), el('dd', {}, d.prescriptionId));
      }
      if (d.patient) {
        const who = [d.patient.name, d.patient.nhsNumber ? 'NHS ' + d.patient.nhsNumber : '']
          .filter(Boolean)
          .join(', ');
        dl.append(el('dt', {}, 'Patient'), el('dd', {}, who));
      }
      for (const item of d.items || []) {
        dl.append(
          el('dt', {}, 'Item'),
          el('dd', {}, [item.name, item.quantity, item.dosage].filter(Boolean).join(' — ')),
        );
      }
      box.append(dl);
    }
    // Every payload is named, also beside prescriptions shown in words: a batch may mix payloads sent with
    // their Bundle and bare digests, and the bare ones must not go unmentioned.
    if (rx.length > 0 && rx.length < p.count) {
      box.append(
        el(
          'p',
          { class: 'unread' },
          String(p.count - rx.length) +
            ' of ' +
            String(p.count) +
            ' without a prescription to show (named by the caller only, below)',
        ),
      );
    }
    if (p.documentIds && p.documentIds.length > 0) {
      box.append(el('p', {}, 'Documents: ' + p.documentIds.join(', ')));
    }
    return box;
  }

  function showApprovals(a) {
    // Re-render only on change, so that a button is not replaced under the user's pointer or focus.
    const key = JSON.stringify(a);
    if (key === shownApprovals) {
      return;
    }
    shownApprovals = key;
    $('pending').replaceChildren(
      ...a.pending.map((p) => {
        const li = el('li', { 'data-id': p.id, 'data-origin': p.origin });
        li.append(el('p', { class: 'question', id: 'q-' + p.id }, p.question), details(p));
        // Per-signature PIN policy: the card PIN is typed here, with the answer (never in the calling page).
        let pinInput;
        if (p.pinRequired) {
          pinInput = el('input', {
            id: 'pin-' + p.id,
            type: 'password',
            inputmode: 'numeric',
            autocomplete: 'off',
            'aria-describedby': 'q-' + p.id,
          });
          li.append(el('label', { for: 'pin-' + p.id }, 'Card PIN for this signature'), pinInput);
        }
        for (const [choice, label, cls] of [
          ['once', 'Allow once', ''],
          ['always', 'Always allow', 'quiet'],
          ['deny', 'Deny', 'deny'],
        ]) {
          const b = el(
            'button',
            {
              type: 'button',
              'data-choice': choice,
              class: cls,
              'aria-describedby': 'q-' + p.id,
            },
            label,
          );
          b.addEventListener('click', () => {
            const body = { id: p.id, choice };
            if (pinInput && choice !== 'deny' && pinInput.value !== '') {
              body.pin = pinInput.value;
              pinInput.value = '';
            }
            call('/api/v1/approvals/answer', body).then(refreshApprovals, fail);
          });
          li.append(b);
        }
        return li;
      }),
    );
    $('approvals').hidden = a.pending.length === 0;
    $('origins').replaceChildren(
      ...a.origins.map((o) => {
        const li = el('li', { 'data-origin': o.origin });
        li.append(
          el(
            'span',
            {},
            o.origin +
              ': ' +
              (o.decision === 'always' ? 'always allowed' : 'denied') +
              (o.source === 'config' ? ' (set in the configuration)' : '') +
              ' ',
          ),
        );
        if (o.source === 'user') {
          const b = el(
            'button',
            {
              type: 'button',
              class: 'quiet revoke',
              'aria-label': (o.decision === 'always' ? 'Revoke ' : 'Forget ') + o.origin,
            },
            o.decision === 'always' ? 'Revoke' : 'Forget',
          );
          b.addEventListener('click', () =>
            call('/api/v1/approvals/revoke', { origin: o.origin }).then(refreshApprovals, fail),
          );
          li.append(b);
        }
        return li;
      }),
    );
    $('no-origins').hidden = a.origins.length > 0;
  }

  async function refreshApprovals() {
    if (unpaired) {
      return;
    }
    try {
      showApprovals(await call('/api/v1/approvals'));
    } catch (e) {
      if (!unpaired) {
        fail(e);
      }
    }
  }

  let records = [];
  function showHistory() {
    const f = $('filter').value.trim().toLowerCase();
    const rows = records.filter(
      (r) =>
        f === '' ||
        [r.client, r.kind, r.outcome, r.errorCode || '', ...(r.documentIds || [])]
          .join(' ')
          .toLowerCase()
          .includes(f),
    );
    $('records').replaceChildren(
      ...rows.map((r) => {
        const tr = el('tr');
        tr.append(
          el('td', {}, new Date(r.time).toLocaleString()),
          el('td', {}, r.client),
          el('td', {}, r.kind),
          el('td', {}, (r.documentIds || []).join(', ') || '—'),
          el('td', { class: r.outcome }, r.outcome + (r.errorCode ? ' (' + r.errorCode + ')' : '')),
        );
        return tr;
      }),
    );
  }

  async function refreshHistory() {
    if (unpaired) {
      return;
    }
    try {
      const h = await call('/api/v1/audit/recent?limit=100');
      records = h.records;
      $('chain').textContent = h.chain.ok
        ? 'Audit log: ' + h.chain.records + ' records, hash chain intact.'
        : 'Audit log: the hash chain is BROKEN (' + h.chain.reason + '): run rxsign audit verify.';
      $('chain').className = h.chain.ok ? 'chain ok' : 'chain err';
      showHistory();
    } catch (e) {
      if (e && e.code === 'ERR_AUDIT_OFF') {
        $('chain').textContent = 'Signing is off, so there is no audit log to show.';
        return;
      }
      if (!unpaired) {
        fail(e);
      }
    }
  }

  /** The event stream (text/event-stream read with fetch); reconnects with a growing delay. */
  async function listen() {
    let delay = 500;
    for (;;) {
      try {
        const r = await fetch('/api/v1/events', {
          headers: { authorization: 'Bearer ' + (secret || ''), accept: 'text/event-stream' },
        });
        if (r.status === 401) {
          showUnpaired();
          return;
        }
        if (!r.ok || !r.body) {
          throw new Error('events ' + r.status);
        }
        $('live').textContent = 'Connected to the agent.';
        delay = 500;
        await Promise.all([refreshSession(), refreshApprovals(), refreshHistory()]);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            break;
          }
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const type = /^event: (.+)$/m.exec(frame);
            if (type) {
              onEvent(type[1]);
            }
          }
        }
      } catch {
        // the agent stopped or restarted: try again below
      }
      if (unpaired) {
        return;
      }
      $('live').textContent = 'Not connected to the agent: trying again…';
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  function onEvent(type) {
    if (type.startsWith('card.') || type.startsWith('session.')) {
      refreshSession();
    }
    if (type.startsWith('approval.')) {
      refreshApprovals();
    }
    if (type === 'signature.made' || type === 'signature.refused') {
      refreshHistory();
    }
  }

  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pin = $('pin').value;
    $('pin').value = '';
    $('message').textContent = '';
    const ack = !$('ack-label').hidden && $('ack').checked;
    try {
      showSession(await call('/api/v1/login', ack ? { pin, acknowledgeFinalTry: true } : { pin }));
      say('Logged in.', true);
    } catch (e) {
      // the state first (the form may have been hidden while the card was tried), then the message
      await refreshSession();
      fail(e);
    }
  });
  $('role').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      showSession(await call('/api/v1/role', { roleId: $('roleId').value }));
      say('Role selected.', true);
    } catch (e) {
      fail(e);
    }
  });
  $('logout').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await call('/api/v1/logout', {}).catch(fail);
    refreshSession();
  });
  $('filter').addEventListener('input', showHistory);

  function base64(file) {
    return file.arrayBuffer().then((buf) => {
      const bytes = new Uint8Array(buf);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) {
        s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      }
      return btoa(s);
    });
  }

  function showReport(report) {
    const box = $('report');
    box.replaceChildren();
    const h = el('p', { class: 'indication ' + report.indication, id: 'indication' });
    h.textContent =
      report.indication +
      (report.subIndication ? ' — ' + report.subIndication : '') +
      ' (' +
      report.format +
      ')';
    box.append(h);
    if (report.signer) {
      box.append(
        el(
          'p',
          { id: 'signer' },
          'Signed by ' +
            report.signer.name +
            (report.signer.uid ? ' (' + report.signer.uid + ')' : ''),
        ),
      );
    }
    if (report.signingTime) {
      box.append(el('p', {}, 'Signing time: ' + report.signingTime));
    }
    const ul = el('ul', { class: 'checks' });
    for (const c of report.checks) {
      const li = el('li', { class: c.status, 'data-check': c.id });
      li.textContent = c.status + ': ' + c.title + (c.message ? ' — ' + c.message : '');
      ul.append(li);
    }
    box.append(ul);
  }

  $('verify').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const doc = $('doc').files[0];
    if (!doc) {
      return;
    }
    const content = $('content').files[0];
    $('report').textContent = 'Verifying…';
    try {
      const d = { id: doc.name.slice(0, 128) || 'document', content: await base64(doc) };
      if (content) {
        d.detachedContent = await base64(content);
      }
      const r = await call('/api/v1/verify/batch', { documents: [d] });
      showReport(r.reports[0].report);
    } catch (e) {
      $('report').textContent = '';
      fail(e);
    }
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer && ev.dataTransfer.files.length > 0) {
      $('doc').files = ev.dataTransfer.files;
    }
  });

  if (!secret) {
    showUnpaired();
    return;
  }
  listen();
})();
