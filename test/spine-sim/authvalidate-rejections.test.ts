// docs/protocol/cis-login.md §1.4 server checks and §6 rejections: one negative per rule, each with its error code.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildAuthResponse } from '../../src/auth/wire/response.js';
import { buildValidateRequest, gpParamMap, parseGpObject } from '../../src/auth/wire/gpobject.js';
import { startSpineSim, type RunningSpineSim } from '../../src/spine-sim/server.js';
import {
  activate,
  CLIENT,
  login,
  makeLoginPki,
  post,
  signChallenge,
  UID,
  USERS,
  type LoginPki,
} from './fixture.js';

let pki: LoginPki;
let sim: RunningSpineSim;
let now = Date.now();

beforeAll(async () => {
  pki = makeLoginPki();
  now = Date.now(); // after the certificates are issued (notBefore = issue time)
  sim = await startSpineSim({
    port: 0,
    users: USERS,
    trust: pki.trust,
    crls: pki.crls,
    clock: () => now,
  });
});
afterAll(async () => {
  await sim.close();
  pki.cleanup();
});

function expectRejected(
  res: { status: number; text: string; params: ReadonlyMap<string, string> },
  code: string,
  status = 403,
): void {
  expect(res.params.get('error')).toBe(code);
  expect(res.status).toBe(status);
  expect(res.params.has('sso_ticket')).toBe(false);
  expect(res.params.get('error_description')).toMatch(/\S/);
  expect(res.params.get('log_session_id')).toBe(CLIENT.logSessionId);
}

describe('§1.4 authvalidate refusals', () => {
  test('control: the valid identity is accepted (so each negative below fails for its own reason)', async () => {
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    expect(res.status).toBe(200);
    expect(res.params.get('sso_ticket')).toBeDefined();
  });

  test('UNKNOWN_USER: trusted certificate, uid not in the users file', async () => {
    expectRejected(await login(sim.url, UID.unknown, pki.ids.unknown), 'UNKNOWN_USER');
  });

  test('UID_MISMATCH: uid differs from the certificate CN', async () => {
    expectRejected(await login(sim.url, UID.prescriber, pki.ids.mismatch), 'UID_MISMATCH');
  });

  test('BAD_SIGNATURE: one bit of the CMS signature flipped', async () => {
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber, {
      cms: (d) => {
        const c = new Uint8Array(d);
        c[c.length - 1] = (c[c.length - 1] ?? 0) ^ 1;
        return c;
      },
    });
    expectRejected(res, 'BAD_SIGNATURE');
  });

  test('CHALLENGE_MISMATCH: a valid signature over other bytes', async () => {
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber, {
      content: (c) => c.map((b, i) => (i === 0 ? b ^ 0xff : b)),
    });
    expectRejected(res, 'CHALLENGE_MISMATCH');
  });

  test('BAD_CHALLENGE: forged server signature', async () => {
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber, {
      signature: Buffer.alloc(32, 1).toString('base64'),
    });
    expectRejected(res, 'BAD_CHALLENGE');
  });

  test('STALE_CHALLENGE: signed and sent 6 minutes after authactivate', async () => {
    const { challenge, signature } = await activate(sim.url);
    now += 6 * 60_000;
    try {
      const der = signChallenge(pki.ids.prescriber, Buffer.from(challenge, 'base64'));
      const body = buildValidateRequest({
        ...CLIENT,
        challenge,
        signature,
        uid: UID.prescriber,
        response: buildAuthResponse(der),
      });
      const res = await post(`${sim.url}/login/authvalidate`, body);
      expectRejected({ ...res, params: gpParamMap(parseGpObject(res.text)) }, 'STALE_CHALLENGE');
    } finally {
      now -= 6 * 60_000;
    }
  });

  test('CERT_REVOKED: the auth-CA CRL lists the certificate', async () => {
    expectRejected(await login(sim.url, UID.revoked, pki.ids.revoked), 'CERT_REVOKED');
  });

  test('CERT_UNTRUSTED: certificate from a CA outside the trust folder (same CA name)', async () => {
    expectRejected(await login(sim.url, UID.untrusted, pki.ids.untrusted), 'CERT_UNTRUSTED');
  });

  test('CERT_EXPIRED: the clock moved past the certificate notAfter', async () => {
    now += 3 * 24 * 60 * 60_000;
    try {
      expectRejected(await login(sim.url, UID.prescriber, pki.ids.prescriber), 'CERT_EXPIRED');
    } finally {
      now -= 3 * 24 * 60 * 60_000;
    }
  });

  test('MALFORMED_REQUEST: response that is not base64 CMS, and a missing uid', async () => {
    const { challenge, signature } = await activate(sim.url);
    const bad = await post(
      `${sim.url}/login/authvalidate`,
      buildValidateRequest({
        ...CLIENT,
        challenge,
        signature,
        uid: UID.prescriber,
        response: '!!!',
      }),
    );
    expectRejected(
      { ...bad, params: gpParamMap(parseGpObject(bad.text)) },
      'MALFORMED_REQUEST',
      400,
    );
    const noUid = await post(
      `${sim.url}/login/authvalidate`,
      `<gpOBJECT><gpPARAM name="log_session_id">${CLIENT.logSessionId}</gpPARAM><gpPARAM name="challenge">${challenge}</gpPARAM></gpOBJECT>`,
    );
    expectRejected(
      { ...noUid, params: gpParamMap(parseGpObject(noUid.text)) },
      'MALFORMED_REQUEST',
      400,
    );
  });

  test('MALFORMED_REQUEST: a repeated uid parameter is refused (no parameter pollution)', async () => {
    const { challenge, signature } = await activate(sim.url);
    const der = signChallenge(pki.ids.prescriber, Buffer.from(challenge, 'base64'));
    const body = buildValidateRequest({
      ...CLIENT,
      challenge,
      signature,
      uid: UID.prescriber,
      response: buildAuthResponse(der),
    }).replace('</gpOBJECT>', `<gpPARAM name="uid">${UID.unknown}</gpPARAM></gpOBJECT>`);
    const res = await post(`${sim.url}/login/authvalidate`, body);
    expect(res.status).toBe(400);
    expect(gpParamMap(parseGpObject(res.text)).get('error')).toBe('MALFORMED_REQUEST');
  });
});
