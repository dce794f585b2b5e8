// The whole CIS login on a real loopback server (docs/protocol/cis-login.md §1.2–§1.6, §2, §3), and session lifetimes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildLogoutRequest, parseGpObject } from '../../src/auth/wire/gpobject.js';
import { parseRoles } from '../../src/auth/wire/roles.js';
import { parseRoleAssertion } from '../../src/auth/wire/saml.js';
import { startSpineSim, type RunningSpineSim } from '../../src/spine-sim/server.js';
import { CLIENT, get, login, makeLoginPki, post, UID, USERS, type LoginPki } from './fixture.js';

let pki: LoginPki;
let sim: RunningSpineSim;
let now = Date.now();

beforeAll(async () => {
  pki = makeLoginPki();
  now = Date.now(); // after the certificates are issued (notBefore = issue time)
  sim = await startSpineSim({
    port: 0,
    host: '127.0.0.1',
    users: USERS,
    trust: pki.trust,
    crls: pki.crls,
    clock: () => now,
    sessionLimits: { maxSessionMinutes: 60, maxIdleMinutes: 10 },
    adminRoutes: true,
  });
});
afterAll(async () => {
  await sim.close();
  pki.cleanup();
});

const enc = encodeURIComponent;
const pll = (op: string) =>
  `<RequestSet vers="1.0" svcid="Session" reqid="0"><Request><![CDATA[<SessionRequest vers="1.0" reqid="7" requester="x">${op}</SessionRequest>]]></Request></RequestSet>`;

describe('§1–§3 full journey', () => {
  test('activate → validate → role selection → AM checks → SAML → GetSession → logout', async () => {
    // §1.2
    const act = await post(
      `${sim.url}/login/authactivate`,
      `<gpOBJECT><gpPARAM name="service">ACTIVATION</gpPARAM><gpPARAM name="log_session_id">ZtBJb9tU7T</gpPARAM></gpOBJECT>`,
    );
    expect(act.status).toBe(200);
    expect(act.text).toContain(
      '<!DOCTYPE USER SYSTEM "https://gas.nis1.national.ncrs.nhs.uk/login/dtd">',
    );
    const actNames = parseGpObject(act.text).map((p) => p.name);
    expect(actNames).toEqual([
      'gas_version',
      'signature',
      'server_ip',
      'ssp_url',
      'app_url',
      'log_session_id',
      'service',
      'error_url',
      'ticket',
      'auth_method',
      'reply_url',
      'challenge',
      'download_gac_url',
      'latest_gac_version',
    ]);
    expect(act.text).toContain(`<gpPARAM name="reply_url">${sim.url}/login/authvalidate</gpPARAM>`);

    // §1.4
    const v = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    expect(v.status).toBe(200);
    const ticket = v.params.get('sso_ticket') ?? '';
    expect(ticket).toMatch(/^AQIC5wM2LY4S[A-Za-z0-9+/]{43}=@AAJTSQACMDE=#$/);
    expect(v.params.get('cn')).toBe('Test Prescriber');
    expect(v.params.get('log_session_id')).toBe(CLIENT.logSessionId);
    expect(v.params.get('sso_max_session_time')).toBe('60');
    expect(v.params.get('sso_session_time')).toBe('10');
    expect(v.params.get('sso_logout_url')).toBe(`${sim.url}/login/authlogout`);
    expect(v.params.has('error')).toBe(false);
    // raw & as the real GAS writes it, with id and orgcode attributes
    expect(v.text).toContain(
      '<gpPARAM name="nhsjobrole0" id="555000100101" orgcode="B81108">SAHA SN & DE G, "Admin & Clerical":"Admin":"Registration Authority Agent"</gpPARAM>',
    );
    const roles = parseRoles(parseGpObject(v.text));
    expect(roles.map((r) => r.orgName)).toEqual([
      'SAHA SN & DE G',
      'TAUNTON AND SOMERSET NHS FOUNDATION TRUST, MUSGROVE PARK',
    ]);

    // §1.5
    const sel = await get(
      `${sim.url}/saml/RoleSelectionGP.jsp?token=${enc(ticket)}&selectedRoleUid=555000100102&ssbMode=0&fallbackStatus=0&gacVersion=${enc('GACv10. 0. 0. 1')}`,
    );
    expect(sel).toEqual({ status: 200, text: '<HTML><STATUS>OK</STATUS></HTML>' });

    // §2 isTokenValid, attributes
    expect(await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).toEqual({
      status: 200,
      text: 'boolean=true\n',
    });
    const attrs = await post(
      `${sim.url}/amserver/identity/attributes`,
      `subjectid=${enc(ticket)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(attrs.status).toBe(200);
    expect(attrs.text).toContain(`userdetails.token.id=${ticket}\n`);
    expect(attrs.text).toContain(
      'userdetails.attribute.name=uid\nuserdetails.attribute.value=555000100001\n',
    );
    expect(attrs.text).toContain(
      'userdetails.attribute.name=ssbSessionRoleUid\nuserdetails.attribute.value=555000100102\n',
    );
    expect(attrs.text).toContain(
      'userdetails.attribute.name=max_idle_time\nuserdetails.attribute.value=10\n',
    );
    expect(attrs.text).toContain(
      'userdetails.attribute.name=max_session_time\nuserdetails.attribute.value=60\n',
    );

    // §3
    const saml = await get(`${sim.url}/saml/RoleAssertion?token=${enc(ticket)}`);
    expect(saml.status).toBe(200);
    const a = parseRoleAssertion(saml.text);
    expect(a).toMatchObject({
      uid: UID.prescriber,
      cn: 'Test Prescriber',
      ssbSessionRoleUid: '555000100102',
      ssbMode: '0',
    });
    expect(a.roles.map((r) => r.uniqueIdentifier)).toEqual(['555000100101', '555000100102']);
    expect(a.roles[1]).toMatchObject({
      o: 'TAUNTON AND SOMERSET NHS FOUNDATION TRUST, MUSGROVE PARK',
      businessFunctionCodes: ['B0570'],
      areasOfWork: ['Pharmacy'],
      workGroups: ['Dispensary'],
    });
    expect(a.roles[0]?.nhsJobRole).toBe(
      '"Admin & Clerical":"Admin":"Registration Authority Agent"',
    );

    // §2 PLL GetSession
    now += 3 * 60_000;
    const gs = await post(
      `${sim.url}/amserver/sessionservice`,
      pll(`<GetSession reset="false"><SessionID>${ticket}</SessionID></GetSession>`),
    );
    expect(gs.status).toBe(200);
    expect(gs.text).toMatch(
      /<SessionResponse vers="1.0" reqid="7"><GetSession><Session sid="[^"]+" stype="user" cid="uid=555000100001,ou=People,o=nhs" cdomain="o=nhs" maxtime="60" maxidle="10" maxcaching="3" timeidle="180" timeleft="420" state="valid">/,
    );
    expect(gs.text).toContain(
      '<Property name="ssbSessionRoleUid" value="555000100102"></Property>',
    );

    // §1.6 logout (GET with a body is what NHOS does; POST here)
    const out = await post(
      `${sim.url}/login/authlogout`,
      buildLogoutRequest({ ...CLIENT, ticket, uid: UID.prescriber }),
    );
    expect(out).toEqual({ status: 200, text: '<HTML><STATUS>OK</STATUS></HTML>' });
    expect(await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).toEqual({
      status: 200,
      text: 'boolean=false\n',
    });
    expect((await get(`${sim.url}/saml/RoleAssertion?token=${enc(ticket)}`)).status).toBe(401);
  });

  test('the admin view lists sessions by fingerprint, never by ticket', async () => {
    const v = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    const ticket = v.params.get('sso_ticket') ?? '';
    const res = await get(`${sim.url}/_sim/sessions`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(ticket);
    expect(JSON.parse(res.text)).toMatchObject({
      sessions: expect.arrayContaining([
        expect.objectContaining({
          uid: UID.prescriber,
          ticketSha256: expect.stringMatching(/^[0-9a-f]{16}$/),
        }),
      ]),
    });
    await post(
      `${sim.url}/login/authlogout`,
      buildLogoutRequest({ ...CLIENT, ticket, uid: UID.prescriber }),
    );
  });
});

describe('§6 session lifetimes on the injected clock (minutes, as Sun AM)', () => {
  test('idle expiry: valid at 9 min idle, refreshed by GetSession reset="true", invalid after 10 min idle', async () => {
    const v = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    const ticket = v.params.get('sso_ticket') ?? '';
    const valid = async (): Promise<string> =>
      (await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).text;
    now += 9 * 60_000;
    expect(await valid()).toBe('boolean=true\n'); // a validity check does not reset idle
    const refresh = await post(
      `${sim.url}/amserver/sessionservice`,
      pll(`<GetSession reset="true"><SessionID>${ticket}</SessionID></GetSession>`),
    );
    expect(refresh.text).toContain('timeidle="0" timeleft="600"'); // reset first, then reported
    now += 9 * 60_000;
    expect(await valid()).toBe('boolean=true\n');
    now += 60_000;
    expect(await valid()).toBe('boolean=false\n');
    const gs = await post(
      `${sim.url}/amserver/sessionservice`,
      pll(`<GetSession reset="true"><SessionID>${ticket}</SessionID></GetSession>`),
    );
    expect(gs.text).toContain('<Exception>Invalid session ID.</Exception>');
  });

  test('maximum session time ends the session even when kept busy', async () => {
    const v = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    const ticket = v.params.get('sso_ticket') ?? '';
    for (let i = 0; i < 6; i++) {
      now += 9 * 60_000;
      const sel = await get(
        `${sim.url}/saml/RoleSelectionGP.jsp?token=${enc(ticket)}&selectedRoleUid=555000100101`,
      );
      expect(sel.status).toBe(200);
    }
    now += 6 * 60_000; // 60 minutes after login, 6 idle
    expect(
      (await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).text,
    ).toBe('boolean=false\n');
  });
});
