// The CIS2 simulator end to end over HTTP (no browser): openid-client relying parties, the agent with the
// SoftHSM prescriber card, the card assertion, claim shapes, replay and cross-origin refusals, prompt=login,
// and back-channel logout when the card session ends.
import { readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader, decodeJwt, jwtVerify, createLocalJWKSet } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CIS2_BASE_PATH } from '../../../src/cis2-sim/index.js';
import { privateSofthsmCopy, testCard } from '../../helpers/softhsm.js';
import { askAgent, Jar, openLoginPage, postAssertion } from './http-driver.js';
import { startCis2Rig, type Cis2Rig } from './rig.js';

async function agentLogin(rig: Cis2Rig, pin: string): Promise<void> {
  const res = await fetch(`${rig.agent.url}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rig.agent.apiKey}` },
    body: JSON.stringify({ pin }),
  });
  expect(res.status).toBe(200);
}

/** One whole card sign-in for `rp` in a fresh cookie jar; returns the RP's callback URL. */
async function cardSignIn(rig: Cis2Rig, rpIndex: number, query = ''): Promise<string> {
  const jar = new Jar();
  const page = await openLoginPage(jar, rig.rps[rpIndex]?.url ?? '', query);
  const a = await askAgent(rig.agent.url, rig.cis2.url, {
    nonce: page.nonce,
    audience: page.audience,
    ...(page.authAfter > 0 ? { authAfter: page.authAfter } : {}),
  });
  expect(a.status, JSON.stringify(a.json)).toBe(200);
  const done = await postAssertion(jar, page.interactionUrl, String(a.json.assertion));
  return done.url;
}

describe('CIS2 simulator with the agent and the prescriber card', () => {
  let rig: Cis2Rig;
  const card = () => testCard('prescriber');

  beforeAll(async () => {
    rig = await startCis2Rig({ label: 'prescriber' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  test('discovery is CIS2-shaped', async () => {
    const res = await fetch(`${rig.cis2.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const d = (await res.json()) as Record<string, unknown>;
    expect(rig.cis2.issuer).toBe(`${rig.cis2.url}${CIS2_BASE_PATH}`);
    expect(d.issuer).toBe(rig.cis2.issuer);
    expect(d.authorization_endpoint).toBe(`${rig.cis2.issuer}/authorize`);
    expect(d.token_endpoint).toBe(`${rig.cis2.issuer}/access_token`);
    expect(d.userinfo_endpoint).toBe(`${rig.cis2.issuer}/userinfo`);
    expect(d.jwks_uri).toBe(`${rig.cis2.issuer}/connect/jwk_uri`);
    expect(d.end_session_endpoint).toBe(`${rig.cis2.issuer}/connect/endSession`);
    expect(d.response_types_supported).toEqual(['code']);
    expect(d.scopes_supported).toEqual(
      expect.arrayContaining([
        'openid',
        'profile',
        'nationalrbacaccess',
        'associatedorgs',
        'selectedrole',
      ]),
    );
    expect(d.acr_values_supported).toEqual(
      expect.arrayContaining(['AAL3_ANY', 'AAL2_OR_AAL3_ANY']),
    );
    expect(d.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['private_key_jwt', 'client_secret_basic', 'client_secret_post']),
    );
    expect(d.token_endpoint_auth_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['RS256', 'RS512']),
    );
    expect(d.backchannel_logout_supported).toBe(true);
  });

  test('with no card session the agent refuses and names the fix; no PIN is asked', async () => {
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    expect(page.agent).toBe(rig.agent.url);
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(a.status).toBe(401);
    expect(a.json.code).toBe('ERR_CIS2_NO_SESSION');
    expect(String(a.json.title)).toMatch(/log in .* agent page/);
  });

  test('first sign-in (private_key_jwt RS512): ID token, userinfo and the card assertion match CIS2 shapes', async () => {
    await agentLogin(rig, card().pin);
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(a.status).toBe(200);
    const jws = String(a.json.assertion);
    const h = decodeProtectedHeader(jws);
    expect(h.alg).toBe('RS256');
    expect(h.typ).toBe('rxsign-card-assertion+jwt');
    expect(h.x5c?.length).toBeGreaterThanOrEqual(2); // card certificate + the authentication CA
    const c = decodeJwt(jws);
    expect(c).toMatchObject({
      uid: card().uid,
      sub: card().uid,
      selected_roleid: '555000000101',
      nonce: page.nonce,
      aud: rig.cis2.issuer,
      origin: rig.cis2.url,
    });
    expect((c.exp ?? 0) - (c.iat ?? 0)).toBeLessThanOrEqual(60);

    const done = await postAssertion(jar, page.interactionUrl, jws);
    expect(done.url.startsWith(`${rig.rps[0]?.url}/cb?`)).toBe(true);
    expect(await done.res.text()).toContain('signed-in');
    const login = rig.rps[0]?.logins.at(-1);
    expect(login?.claims).toMatchObject({
      iss: rig.cis2.issuer,
      sub: card().uid,
      aud: 'app-a.apps.supplier',
      acr: 'AAL3_ANY',
      amr: ['N3_SMARTCARD'],
      id_assurance_level: 3,
      authentication_assurance_level: 3,
      selected_roleid: '555000000101',
      realm: '/NHSIdentity/Healthcare',
      tokenName: 'id_token',
      tokenType: 'JWTToken',
    });
    expect(typeof login?.claims.sid).toBe('string');
    expect(typeof login?.claims.auditTrackingId).toBe('string');
    expect(typeof login?.claims.auth_time).toBe('number');
    expect(login?.claims.nhsid_nrbac_roles).toBeUndefined(); // UserInfo only, as CIS2
    expect(login?.userinfo).toMatchObject({
      sub: card().uid,
      uid: card().uid,
      name: 'Prescriber One',
      given_name: 'Prescriber',
      family_name: 'One',
      nhsid_nrbac_roles: [
        {
          person_roleid: '555000000101',
          org_code: 'A81001',
          role_code: 'S8000:G8000:R8001',
          role_name: '"Clinical":"Clinical Provision":"Nurse Access Role"',
          person_orgid: expect.stringMatching(/^\d{12}$/),
        },
      ],
      nhsid_user_orgs: [{ org_code: 'A81001', org_name: 'THE DENSHAM SURGERY' }],
    });
    // The ID token verifies against the simulator's published keys.
    const cfg = await rig.rps[0]?.config();
    const keys = (await (
      await fetch(cfg?.serverMetadata().jwks_uri ?? '')
    ).json()) as JSONWebKeySet;
    await jwtVerify(login?.idToken ?? '', createLocalJWKSet(keys), {
      issuer: rig.cis2.issuer,
      audience: 'app-a.apps.supplier',
    });
  });

  test('a second application (client secret) signs in in the same card session with no PIN', async () => {
    const url = await cardSignIn(rig, 1);
    expect(url.startsWith(`${rig.rps[1]?.url}/cb?`)).toBe(true);
    expect(rig.rps[1]?.logins.at(-1)?.claims).toMatchObject({
      aud: 'app-b.apps.supplier',
      amr: ['N3_SMARTCARD'],
      selected_roleid: '555000000101',
    });
  });

  test('a replayed assertion is refused: same nonce twice, or for another sign-in', async () => {
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    const jws = String(a.json.assertion);
    // used for another sign-in (another nonce)
    const jar2 = new Jar();
    const other = await openLoginPage(jar2, rig.rps[0]?.url ?? '');
    const refused = await postAssertion(jar2, other.interactionUrl, jws);
    expect(refused.url).toContain('error=access_denied');
    expect(rig.rps[0]?.errors.at(-1)?.description).toMatch(/^NONCE_MISMATCH/);
    // the right sign-in accepts it once; a second post of the same assertion finds no live sign-in
    const ok = await postAssertion(jar, page.interactionUrl, jws);
    expect(ok.url).toContain('/cb?code=');
    const again = await fetch(`${page.interactionUrl}/smartcard`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ assertion: jws }).toString(),
    });
    expect(again.status).toBe(400);
  });

  test('cross-origin: a foreign page is refused by the agent; an assertion for another origin or audience by the simulator', async () => {
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    const evil = await askAgent(rig.agent.url, 'http://evil.example', {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(evil.status).toBe(403);
    expect(evil.json.code).toBe('ERR_FORBIDDEN_ORIGIN');
    const none = await askAgent(rig.agent.url, undefined, {
      nonce: page.nonce,
      audience: page.audience,
      origin: rig.cis2.url,
    });
    // the origin comes from the header only, never the body: with no Origin this is a local program, and
    // without the agent's key it is refused first
    expect(none.status).toBe(401);
    // the agent's own origin is the agent page's: without the page's secret it is refused (docs/security.md)
    const self = await askAgent(rig.agent.url, rig.agent.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(self.status).toBe(401);
    expect(self.json.code).toBe('ERR_UNAUTHORIZED');

    const jar2 = new Jar();
    const page2 = await openLoginPage(jar2, rig.rps[0]?.url ?? '');
    const aud = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page2.nonce,
      audience: 'http://127.0.0.1:1/other-issuer',
    });
    const r2 = await postAssertion(jar2, page2.interactionUrl, String(aud.json.assertion));
    expect(r2.url).toContain('error=access_denied');
    expect(rig.rps[0]?.errors.at(-1)?.description).toMatch(/^AUDIENCE_MISMATCH/);
  });

  test('an origin the user denied gets no card assertion; after Revoke it does again', async () => {
    // Before: the assertion route ignored a remembered Deny, so a denied origin still got card-signed proof
    // of the user's identity and role.
    const origin = rig.cis2.url;
    const approvals = rig.agent.approvals;
    approvals.once('pending', (p: { id: string }) => approvals.answer(p.id, 'deny'));
    expect(await approvals.request(origin, { action: 'ticket', count: 1, as: 'the user' })).toBe(
      'deny',
    );
    try {
      const jar = new Jar();
      const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
      const denied = await askAgent(rig.agent.url, origin, {
        nonce: page.nonce,
        audience: page.audience,
      });
      expect(denied.status).toBe(403);
      expect(denied.json.code).toBe('ERR_ORIGIN_DENIED');
      expect(denied.json.assertion).toBeUndefined();
    } finally {
      approvals.revoke(origin);
    }
    expect(await cardSignIn(rig, 0)).toMatch(/[?&]code=/);
  });

  test('a tampered assertion (payload changed, card signature kept) is refused', async () => {
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    const [h, p, s] = String(a.json.assertion).split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    claims.selected_roleid = '555000000201';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const r = await postAssertion(jar, page.interactionUrl, forged);
    expect(r.url).toContain('error=access_denied');
    expect(rig.rps[0]?.errors.at(-1)?.description).toMatch(/^BAD_SIGNATURE/);
  });

  test('prompt=login asks for the PIN again: the live session is refused until a new card login', async () => {
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '', '?prompt=login');
    expect(page.authAfter).toBeGreaterThan(0);
    expect(page.html).toContain('enter your PIN again');
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
      authAfter: page.authAfter,
    });
    expect(a.status).toBe(401);
    expect(a.json.code).toBe('ERR_CIS2_FRESH_LOGIN_REQUIRED');
    // An assertion from the old session, forced through, is refused by the simulator too.
    const old = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    const refused = await postAssertion(jar, page.interactionUrl, String(old.json.assertion));
    expect(refused.url).toContain('error=access_denied');
    expect(rig.rps[0]?.errors.at(-1)?.description).toMatch(/^FRESH_LOGIN_REQUIRED/);

    const jar2 = new Jar();
    const page2 = await openLoginPage(jar2, rig.rps[0]?.url ?? '', '?prompt=login');
    await new Promise((r) => setTimeout(r, 1100)); // the new PIN login is in a later second
    await agentLogin(rig, card().pin);
    const b = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page2.nonce,
      audience: page2.audience,
      authAfter: page2.authAfter,
    });
    expect(b.status).toBe(200);
    const ok = await postAssertion(jar2, page2.interactionUrl, String(b.json.assertion));
    expect(ok.url).toContain('/cb?code=');
    expect(Number(rig.rps[0]?.logins.at(-1)?.claims.auth_time)).toBeGreaterThanOrEqual(
      page2.authAfter,
    );
  });

  test('max_age: a card login older than max_age is refused (the PIN is asked again)', async () => {
    await new Promise((r) => setTimeout(r, 2100));
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '', '?max_age=1');
    expect(page.authAfter).toBeGreaterThan(0);
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
      authAfter: page.authAfter,
    });
    expect(a.json.code).toBe('ERR_CIS2_FRESH_LOGIN_REQUIRED');
  });

  test('RP-initiated logout at /connect/endSession sends the back-channel logout token', async () => {
    const rp = rig.rps[0];
    const jar = new Jar();
    const page = await openLoginPage(jar, rp?.url ?? '');
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(a.status).toBe(200);
    const done = await postAssertion(jar, page.interactionUrl, String(a.json.assertion));
    expect(done.url).toContain('/cb?code=');
    const login = rp?.logins.at(-1);
    const before = rp?.logouts.length ?? 0;
    const cfg = await rp?.config();
    if (!cfg || !login) {
      throw new Error('no login');
    }
    const { buildEndSessionUrl } = await import('openid-client');
    const end = buildEndSessionUrl(cfg, {
      id_token_hint: login.idToken,
      post_logout_redirect_uri: `${rp?.url}/`,
    });
    expect(end.pathname).toBe(`${new URL(rig.cis2.issuer).pathname}/connect/endSession`);
    const { follow } = await import('./http-driver.js');
    const confirm = await follow(jar, end.href);
    const html = await confirm.res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(action).not.toBe('');
    const res = await fetch(new URL(action, end).href, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${rp?.url}/`);
    expect(rp?.logouts.length).toBe(before + 1);
    expect(rp?.logouts.at(-1)).toMatchObject({ sid: login.claims.sid, sub: card().uid });
  });

  test('the username form is labelled and gives AAL2; an AAL3-only application does not offer it', async () => {
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    expect(page.html).toContain('Test user without a card (AAL2');
    const res = await fetch(`${page.interactionUrl}/username`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ uid: '555000000001' }).toString(),
    });
    jar.take(res);
    const { follow } = await import('./http-driver.js');
    const done = await follow(
      jar,
      new URL(res.headers.get('location') ?? '', page.interactionUrl).href,
    );
    expect(done.url).toContain('/cb?code=');
    expect(rig.rps[0]?.logins.at(-1)?.claims).toMatchObject({
      acr: 'AAL2_ANY',
      authentication_assurance_level: 2,
    });
    const aal3 = await openLoginPage(new Jar(), rig.rps[0]?.url ?? '', '?acr_values=AAL3_ANY');
    expect(aal3.html).not.toContain('Test user without a card');
  });
});

describe('CIS2 sign-in ends when the card is removed', () => {
  test('token folder pulled → the agent ends the card session → back-channel logout to both clients', async () => {
    const copy = privateSofthsmCopy();
    process.env.SOFTHSM2_CONF = copy.conf;
    const rig = await startCis2Rig({ label: 'prescriber', softhsmConfDir: copy.dir });
    try {
      const card = testCard('prescriber', copy.dir);
      await agentLogin(rig, card.pin);
      await cardSignIn(rig, 0);
      await cardSignIn(rig, 1);
      const sids = rig.rps.map((rp) => rp.logins.at(-1)?.claims.sid);
      expect(rig.rps.every((rp) => rp.logouts.length === 0)).toBe(true);
      const folder =
        readdirSync(join(copy.dir, 'tokens')).find((d) =>
          d.replace(/-/g, '').endsWith(card.serial),
        ) ?? '';
      renameSync(join(copy.dir, 'tokens', folder), join(copy.dir, 'parked'));
      const t0 = Date.now();
      while (rig.rps.some((rp) => rp.logouts.length === 0) && Date.now() - t0 < 8000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const [i, rp] of rig.rps.entries()) {
        expect(rp.logouts).toHaveLength(1);
        const t = rp.logouts[0];
        expect(t).toMatchObject({
          iss: rig.cis2.issuer,
          aud: rp.clientId,
          sub: card.uid,
          sid: sids[i],
          events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        });
        expect(t?.nonce).toBeUndefined();
      }
    } finally {
      await rig.close();
      process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR}/softhsm2.conf`;
      copy.cleanup();
    }
  });
});
