// Fault injection (docs/protocol/cis-login.md §7 "Fault injection"): each kind, count, endpoint filter, admin routes.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { buildActivateRequest, gpParamMap, parseGpObject } from '../../src/auth/wire/gpobject.js';
import { startSpineSim, type RunningSpineSim } from '../../src/spine-sim/server.js';
import { CLIENT, get, login, makeLoginPki, post, UID, USERS, type LoginPki } from './fixture.js';

let pki: LoginPki;
let sim: RunningSpineSim;

beforeAll(async () => {
  pki = makeLoginPki();
  sim = await startSpineSim({
    port: 0,
    users: USERS,
    trust: pki.trust,
    crls: pki.crls,
    adminRoutes: true,
  });
});
afterAll(async () => {
  await sim.close();
  pki.cleanup();
});
beforeEach(() => sim.admin.clearFaults());

const enc = encodeURIComponent;
const inject = (body: unknown): Promise<{ status: number; text: string }> =>
  post(`${sim.url}/_sim/faults`, JSON.stringify(body), { 'content-type': 'application/json' });

describe('fault injection', () => {
  test('off by default: no faults pending', async () => {
    expect(sim.admin.faults()).toEqual([]);
    expect((await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT))).status).toBe(
      200,
    );
  });

  test('5xx via POST /_sim/faults: the next `count` requests get 503, then normal service', async () => {
    expect((await inject({ kind: '5xx', count: 2 })).status).toBe(200);
    expect((await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT))).status).toBe(
      503,
    );
    expect((await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=x`)).status).toBe(503);
    expect((await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT))).status).toBe(
      200,
    );
  });

  test('endpoint filter: a fault for authvalidate leaves authactivate alone', async () => {
    await inject({ kind: '5xx', count: 1, endpoints: ['/login/authvalidate'] });
    expect((await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT))).status).toBe(
      200,
    );
    expect(sim.admin.faults()).toHaveLength(1);
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    expect(res.status).toBe(503);
    expect(sim.admin.faults()).toEqual([]);
  });

  test('DELETE /_sim/faults clears pending faults', async () => {
    await inject({ kind: '5xx', count: 5 });
    const res = await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect((await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT))).status).toBe(
      200,
    );
  });

  test('a bad fault spec is refused with the field named', async () => {
    const res = await inject({ kind: 'explode', count: 1 });
    expect(res.status).toBe(400);
    expect(res.text).toContain('kind');
    expect((await inject({ kind: '5xx', colour: 'red' })).status).toBe(400);
    expect(sim.admin.faults()).toEqual([]);
  });

  test('hang: no answer until the client gives up; the next request is served', async () => {
    sim.admin.injectFault({ kind: 'hang', count: 1 });
    const started = Date.now();
    await expect(
      fetch(`${sim.url}/login/authactivate`, {
        method: 'POST',
        body: buildActivateRequest(CLIENT),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT))).status).toBe(
      200,
    );
  });

  test('hang: close() ends a hanging request instead of waiting for it', async () => {
    const own = await startSpineSim({ users: USERS, trust: pki.trust });
    own.admin.injectFault({ kind: 'hang', count: 1 });
    const pending = fetch(`${own.url}/login/authactivate`, { method: 'POST', body: 'x' }).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 100));
    await own.close();
    expect(await pending).toBe('failed');
  });

  test('reject-signature: a valid login is refused with BAD_SIGNATURE', async () => {
    sim.admin.injectFault({ kind: 'reject-signature', count: 1 });
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    expect(res.status).toBe(403);
    expect(res.params.get('error')).toBe('BAD_SIGNATURE');
    expect((await login(sim.url, UID.prescriber, pki.ids.prescriber)).status).toBe(200);
  });

  test('zero-roles: login succeeds with no nhsjobroleN lines; role selection then fails', async () => {
    sim.admin.injectFault({ kind: 'zero-roles', count: 1 });
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    expect(res.status).toBe(200);
    expect(parseGpObject(res.text).filter((p) => p.name.startsWith('nhsjobrole'))).toEqual([]);
    const ticket = res.params.get('sso_ticket') ?? '';
    const sel = await get(
      `${sim.url}/saml/RoleSelectionGP.jsp?token=${enc(ticket)}&selectedRoleUid=555000100101`,
    );
    expect(sel.status).toBe(403);
    expect(sel.text).toContain('UNKNOWN_ROLE');
  });

  test('expire-session: the named session is gone for the faulted request and after', async () => {
    const res = await login(sim.url, UID.prescriber, pki.ids.prescriber);
    const ticket = res.params.get('sso_ticket') ?? '';
    expect(
      (await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).text,
    ).toBe('boolean=true\n');
    sim.admin.injectFault({ kind: 'expire-session', count: 1, endpoints: ['/saml/RoleAssertion'] });
    expect(
      (await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).text,
    ).toBe('boolean=true\n');
    expect((await get(`${sim.url}/saml/RoleAssertion?token=${enc(ticket)}`)).status).toBe(401);
    expect(
      (await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc(ticket)}`)).text,
    ).toBe('boolean=false\n');
  });

  test('faults never touch /_sim routes', async () => {
    sim.admin.injectFault({ kind: '5xx', count: 1 });
    expect((await get(`${sim.url}/_sim/sessions`)).status).toBe(200);
    expect(sim.admin.faults()).toHaveLength(1);
    const act = await post(`${sim.url}/login/authactivate`, buildActivateRequest(CLIENT));
    expect(act.status).toBe(503);
    expect(() => gpParamMap(parseGpObject(act.text))).toThrow();
  });
});
