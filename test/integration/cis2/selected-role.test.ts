// The role selected in the agent is CIS2's selected_roleid: with several roles and none selected the agent
// refuses (the user chooses on the agent page); after the choice, the ID token names that role.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testCard } from '../../helpers/softhsm.js';
import { askAgent, Jar, openLoginPage, postAssertion } from './http-driver.js';
import { startCis2Rig, type Cis2Rig } from './rig.js';

describe('selected role (multi-role card)', () => {
  let rig: Cis2Rig;
  beforeAll(async () => {
    rig = await startCis2Rig({ label: 'multi-role', cardPollMs: 0 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${rig.agent.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rig.agent.apiKey}` },
      body: JSON.stringify(body),
    });

  test('no role yet → ERR_CIS2_ROLE_REQUIRED; the chosen role becomes selected_roleid', async () => {
    expect((await post('/api/v1/login', { pin: testCard('multi-role').pin })).status).toBe(200);
    const jar = new Jar();
    const page = await openLoginPage(jar, rig.rps[0]?.url ?? '');
    const first = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(first.status).toBe(409);
    expect(first.json.code).toBe('ERR_CIS2_ROLE_REQUIRED');
    expect((await post('/api/v1/role', { roleId: '555000000203' })).status).toBe(200);
    const a = await askAgent(rig.agent.url, rig.cis2.url, {
      nonce: page.nonce,
      audience: page.audience,
    });
    expect(a.status).toBe(200);
    const done = await postAssertion(jar, page.interactionUrl, String(a.json.assertion));
    expect(done.url).toContain('/cb?code=');
    const login = rig.rps[0]?.logins.at(-1);
    expect(login?.claims.selected_roleid).toBe('555000000203');
    expect(login?.userinfo.nhsid_nrbac_roles).toHaveLength(3);
    expect(login?.userinfo.nhsid_user_orgs).toHaveLength(3);
    expect(login?.userinfo.nhsid_nrbac_roles).toContainEqual(
      expect.objectContaining({
        person_roleid: '555000000202',
        activities: ['Prescribe Medicines'],
        activity_codes: ['B0570'],
      }),
    );
  });
});
