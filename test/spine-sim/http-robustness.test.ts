// docs/protocol/cis-login.md §1.1 transport tolerance; body limits and malformed input never crash the simulator.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildActivateRequest,
  buildValidateRequest,
  gpParamMap,
  parseGpObject,
} from '../../src/auth/wire/gpobject.js';
import { buildAuthResponse } from '../../src/auth/wire/response.js';
import { createSpineSimApp, type SpineSimApp } from '../../src/spine-sim/app.js';
import { startSpineSim } from '../../src/spine-sim/server.js';
import { CLIENT, makeLoginPki, signChallenge, UID, USERS, type LoginPki } from './fixture.js';

let pki: LoginPki;
let sim: SpineSimApp;

beforeAll(() => {
  pki = makeLoginPki();
  sim = createSpineSimApp({ users: USERS, trust: pki.trust, crls: pki.crls });
});
afterAll(() => pki.cleanup());

const errorOf = (text: string): string | undefined => gpParamMap(parseGpObject(text)).get('error');

describe('§1.1 transport tolerance', () => {
  test('no Content-Type, form Content-Type and an odd charset are all read as the gpOBJECT body', async () => {
    const live = await startSpineSim({ users: USERS, trust: pki.trust });
    try {
      for (const type of [
        undefined,
        'application/x-www-form-urlencoded',
        'text/xml; charset=klingon',
      ]) {
        // fetch sends no Content-Type at all for a Uint8Array body, as python-requests does for str (§1.1)
        const res = await fetch(`${live.url}/login/authactivate`, {
          method: 'POST',
          body: new TextEncoder().encode(buildActivateRequest(CLIENT)),
          ...(type === undefined ? {} : { headers: { 'content-type': type } }),
        });
        expect({ type, status: res.status }).toEqual({ type, status: 200 });
        expect(gpParamMap(parseGpObject(await res.text())).get('challenge')).toMatch(
          /^[A-Za-z0-9+/]{64}$/,
        );
      }
    } finally {
      await live.close();
    }
  });

  test('the 8-space indented PoC body with CRLF line ends logs in', async () => {
    const act = await request(sim.app)
      .post('/login/authactivate')
      .send(Buffer.from(buildActivateRequest(CLIENT)));
    const map = gpParamMap(parseGpObject(act.text));
    const challenge = map.get('challenge') ?? '';
    const der = signChallenge(pki.ids.prescriber, Buffer.from(challenge, 'base64'));
    const body = buildValidateRequest({
      ...CLIENT,
      challenge,
      signature: map.get('signature') ?? '',
      uid: UID.prescriber,
      response: buildAuthResponse(der),
    })
      .split('\n')
      .join('\r\n        ');
    const res = await request(sim.app).post('/login/authvalidate').send(Buffer.from(body));
    expect(res.status).toBe(200);
    expect(gpParamMap(parseGpObject(res.text)).get('sso_ticket')).toMatch(/^AQIC/);
  });
});

describe('malformed and oversized input', () => {
  test('malformed gpOBJECT → 400 MALFORMED_REQUEST gpOBJECT, on every gpOBJECT endpoint', async () => {
    for (const path of ['/login/authactivate', '/login/authvalidate', '/login/authlogout']) {
      const res = await request(sim.app)
        .post(path)
        .send(Buffer.from('<gpOBJECT><gpPARAM name="x">unclosed</gpOBJECT>'));
      expect(res.status).toBe(400);
      expect(errorOf(res.text)).toBe('MALFORMED_REQUEST');
    }
  });

  test('a body that is not UTF-8, and an empty body → MALFORMED_REQUEST', async () => {
    const bin = await request(sim.app)
      .post('/login/authvalidate')
      .send(Buffer.from([0xff, 0xfe, 0x00, 0x3c]));
    expect(bin.status).toBe(400);
    expect(errorOf(bin.text)).toBe('MALFORMED_REQUEST');
    const empty = await request(sim.app).post('/login/authvalidate');
    expect(errorOf(empty.text)).toBe('MALFORMED_REQUEST');
  });

  test('a body over 256 KiB → 413 REQUEST_TOO_LARGE, and the app keeps serving', async () => {
    const res = await request(sim.app)
      .post('/login/authvalidate')
      .send(Buffer.alloc(256 * 1024 + 1, 0x41));
    expect(res.status).toBe(413);
    expect(errorOf(res.text)).toBe('REQUEST_TOO_LARGE');
    const ok = await request(sim.app)
      .post('/login/authactivate')
      .send(Buffer.from(buildActivateRequest(CLIENT)));
    expect(ok.status).toBe(200);
  });

  test('an unsupported Content-Encoding → MALFORMED_REQUEST, not a 500', async () => {
    const res = await request(sim.app)
      .post('/login/authvalidate')
      .set('content-encoding', 'br-zz')
      .send(Buffer.from('x'));
    expect(res.status).toBe(400);
    expect(errorOf(res.text)).toBe('MALFORMED_REQUEST');
  });

  test('RoleSelectionGP failures never contain "OK" (clients test for that substring, §1.5)', async () => {
    const noSession = await request(sim.app)
      .get('/saml/RoleSelectionGP.jsp')
      .query({ token: 'AQIC5wM2LY4Snope=@AAJTSQACMDE=#', selectedRoleUid: '1' });
    expect(noSession.status).toBe(401);
    expect(noSession.text).toBe('<HTML><STATUS>FAILED</STATUS><ERROR>NO_SESSION</ERROR></HTML>');
    const missing = await request(sim.app).get('/saml/RoleSelectionGP.jsp');
    expect(missing.status).toBe(400);
    for (const t of [noSession.text, missing.text]) {
      expect(t).not.toContain('OK');
    }
  });

  test('malformed PLL → 400; unknown path → 404', async () => {
    expect(
      (await request(sim.app).post('/amserver/sessionservice').send(Buffer.from('<nope/>'))).status,
    ).toBe(400);
    expect((await request(sim.app).get('/nope')).status).toBe(404);
  });
});
