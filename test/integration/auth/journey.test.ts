// docs/protocol/cis-login.md §1–§3: the whole Identity Agent journey on loopback with the SoftHSM cards and the
// simulator, and every negative the login can meet, each with its own error.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseGpObject, gpParamMap } from '../../../src/auth/wire/gpobject.js';
import { decodeAuthResponse, buildAuthResponse } from '../../../src/auth/wire/response.js';
import { parseRoleAssertion } from '../../helpers/saml.js';
import { openTokenPort } from '../../../src/pkcs11/index.js';
import { FaultPort } from '../../helpers/fault-port.js';
import {
  clearPinCountLow,
  pkiPaths,
  privateSofthsmCopy,
  softhsmModule,
  testCard,
} from '../../helpers/softhsm.js';
import type { FaultSpec, RunningSpineSim } from '../../../src/spine-sim/index.js';
import { captureLogger, startAgent, startSim } from './helpers.js';

const get = async (url: string) => (await fetch(url)).text();

describe('the Identity Agent journey (§1.2–§1.6, §2, §3)', () => {
  let sim: RunningSpineSim;
  const simLog = captureLogger('spine-sim');
  beforeAll(async () => {
    sim = await startSim({ logger: simLog.logger });
  });
  afterAll(async () => {
    await sim.close();
  });

  /**
   * With `fault` injected on the simulator, the prescriber's login fails with `code` (the agent's Spine calls
   * time out after `timeoutMs`); returns the agent's state after it. The fault is cleared afterwards.
   */
  async function loginFailsWith(
    fault: FaultSpec,
    code: string,
    timeoutMs?: number,
  ): Promise<string> {
    sim.admin.injectFault(fault);
    const rig = await startAgent({
      ssbUrl: sim.url,
      label: 'prescriber',
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    try {
      await expect(rig.agent.login(testCard('prescriber').pin)).rejects.toMatchObject({ code });
      return rig.agent.status().state;
    } finally {
      await rig.close();
      sim.admin.clearFaults();
    }
  }

  test('login → role selection → ticket → isTokenValid → attributes → RoleAssertion → logout → isTokenValid false', async () => {
    const card = testCard('multi-role');
    let validateBody = '';
    const spy: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/login/authvalidate')) {
        validateBody = String(init?.body ?? '');
      }
      return fetch(input, init);
    };
    const rig = await startAgent({ ssbUrl: sim.url, label: 'multi-role', fetch: spy });
    try {
      const afterLogin = await rig.agent.login(card.pin);
      expect(afterLogin.state).toBe('role-required');
      expect(afterLogin.uid).toBe(card.uid);
      expect(afterLogin.roles.map((r) => r.id)).toEqual([
        '555000000201',
        '555000000202',
        '555000000203',
      ]);
      // raw & and a comma in an org name survive the lenient parser
      expect(afterLogin.roles[0]?.jobRole[0]).toBe('Admin & Clerical');
      expect(afterLogin.roles[2]?.orgName).toBe(
        'TAUNTON AND SOMERSET NHS FOUNDATION TRUST, MUSGROVE PARK',
      );
      expect(() => rig.agent.getTicketNoAuth()).toThrow(
        expect.objectContaining({ code: 'ERR_TICKET_NOT_AVAILABLE' }),
      );

      const waiting = rig.agent.getTicket(5000); // an application waiting for the user to choose a role
      await rig.agent.selectRole('555000000202');
      const ticket = await waiting;
      expect(ticket).toMatch(/^AQIC5wM2LY4S/);
      expect(rig.agent.getTicketNoAuth()).toBe(ticket);
      const enc = encodeURIComponent(ticket);
      expect(await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc}`)).toContain(
        'boolean=true',
      );
      const attrs = await get(`${sim.url}/amserver/identity/attributes?subjectid=${enc}`);
      expect(attrs).toContain(`userdetails.attribute.value=${card.uid}`);
      expect(attrs).toContain('userdetails.attribute.value=555000000202');
      const saml = parseRoleAssertion(await get(`${sim.url}/saml/RoleAssertion?token=${enc}`));
      expect(saml.uid).toBe(card.uid);
      expect(saml.ssbSessionRoleUid).toBe('555000000202');
      expect(saml.roles).toHaveLength(3);

      // the signed challenge the agent sent passes openssl cms -verify against the test PKI
      const response = gpParamMap(parseGpObject(validateBody)).get('response') ?? '';
      const cms = decodeAuthResponse(response);
      const dir = mkdtempSync(join(tmpdir(), 'rxsign-cms-'));
      writeFileSync(join(dir, 'login.der'), cms);
      // openssl 3.0's cms -verify takes no separate untrusted intermediates: the bundle holds root + auth sub-CA
      writeFileSync(
        join(dir, 'ca.pem'),
        readFileSync(pkiPaths().root, 'utf8') + readFileSync(pkiPaths().authCa, 'utf8'),
      );
      execFileSync(
        'openssl',
        [
          'cms',
          '-verify',
          '-inform',
          'DER',
          '-in',
          join(dir, 'login.der'),
          '-CAfile',
          join(dir, 'ca.pem'),
          '-purpose',
          'any',
          '-out',
          join(dir, 'content'),
        ],
        { stdio: 'pipe' },
      );
      // eContent = the decoded challenge, 48 bytes (§1.2)
      expect(readFileSync(join(dir, 'content')).length).toBe(48);

      await rig.agent.destroyTicket();
      expect(await get(`${sim.url}/amserver/identity/isTokenValid?tokenid=${enc}`)).toContain(
        'boolean=false',
      );
      expect(() => rig.agent.getTicketNoAuth()).toThrow(
        expect.objectContaining({ code: 'ERR_TICKET_NOT_AVAILABLE' }),
      );

      // no PIN and no ticket in any log line of the agent or the simulator
      const all = [...rig.lines, ...simLog.lines].join('');
      expect(all.length).toBeGreaterThan(0);
      expect(all).not.toContain(card.pin);
      expect(all).not.toContain(ticket);
    } finally {
      await rig.close();
    }
  });

  test('one role is selected automatically', async () => {
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber' });
    try {
      const s = await rig.agent.login(testCard('prescriber').pin);
      expect(s.state).toBe('active');
      expect(s.selectedRole?.id).toBe('555000000101');
      await rig.agent.destroyTicket();
    } finally {
      await rig.close();
    }
  });

  test('wrong PIN: a PIN error from the card, the broker never called', async () => {
    let calls = 0;
    const counting: typeof fetch = (i, init) => {
      calls += 1;
      return fetch(i, init);
    };
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', fetch: counting });
    try {
      await expect(rig.agent.login('00000000')).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_PKCS11_PIN_/),
      });
      expect(calls).toBe(0);
    } finally {
      await rig.close();
      await clearPinCountLow('prescriber');
    }
  });

  test('locked card: ERR_PKCS11_PIN_LOCKED (Ticket API PIN_BLOCKED)', async () => {
    const real = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    const port = new FaultPort(real);
    port.lockAfterWrongPins(1);
    const rig = await startAgent({ ssbUrl: sim.url, label: 'lockme', port });
    try {
      await expect(
        rig.agent.login('00000000', { from: 'page', acknowledgeFinalTry: true }),
      ).rejects.toMatchObject({
        code: 'ERR_PKCS11_PIN_LOCKED',
      });
      expect(rig.agent.status().pin).toMatchObject({ locked: true, apiLoginBlocked: true });
    } finally {
      await rig.close();
      await clearPinCountLow('lockme');
    }
  });

  test.each([
    ['expired', 'ERR_AUTHENTICATION_FAILED', 'CERT_EXPIRED'],
    ['revoked', 'ERR_AUTHENTICATION_FAILED', 'CERT_REVOKED'],
  ])('%s certificate is refused by the broker (%s)', async (label, code, brokerError) => {
    const rig = await startAgent({ ssbUrl: sim.url, label });
    try {
      const err = await rig.agent.login(testCard(label).pin).catch((e: unknown) => e);
      expect(err).toMatchObject({ code, detail: { brokerError } });
    } finally {
      await rig.close();
    }
  });

  test('tampered CMS is refused', async () => {
    const tamper: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/login/authvalidate') && typeof init?.body === 'string') {
        const body = init.body;
        const m = /<gpPARAM name="response" encoding="base64">([^<]*)<\/gpPARAM>/.exec(body);
        const cms = decodeAuthResponse(m?.[1] ?? '');
        cms[cms.length - 1] = (cms[cms.length - 1] ?? 0) ^ 0xff; // a bit of the RSA signature
        return fetch(input, { ...init, body: body.replace(m?.[1] ?? '', buildAuthResponse(cms)) });
      }
      return fetch(input, init);
    };
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', fetch: tamper });
    try {
      await expect(rig.agent.login(testCard('prescriber').pin)).rejects.toMatchObject({
        code: 'ERR_AUTHENTICATION_FAILED',
        detail: { brokerError: 'BAD_SIGNATURE' },
      });
    } finally {
      await rig.close();
    }
  });

  test.each([
    ['CR LF', 'AQIC5wM2LY4Sabc&#13;&#10;Set-Cookie: x=1@AAJTSQACMDE=#'],
    ['a space', 'AQIC5wM2LY4S abcdefgh@AAJTSQACMDE=#'],
    ['a control character', 'AQIC5wM2LY4S\u0001abcdefgh@AAJTSQACMDE=#'],
    ['non-ASCII', 'AQIC5wM2LY4Sabcdéfgh@AAJTSQACMDE=#'],
    ['too long', `AQIC5wM2LY4S${'A'.repeat(600)}@AAJTSQACMDE=#`],
    ['too short', 'AQIC#'],
  ])(
    'a broker ticket with %s is refused (ERR_AUTHDATA_SYNTAX_ERROR), never stored or passed on',
    async (_what, bad) => {
      const hostile: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (!String(input).endsWith('/login/authvalidate')) {
          return res;
        }
        const text = (await res.text()).replace(
          /(<gpPARAM name="sso_ticket">)[^<]*(<\/gpPARAM>)/,
          (_m, a: string, b: string) => `${a}${bad}${b}`,
        );
        expect(text).toContain(bad);
        return new Response(text, { status: res.status, headers: res.headers });
      };
      const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', fetch: hostile });
      try {
        await expect(rig.agent.login(testCard('prescriber').pin)).rejects.toMatchObject({
          code: 'ERR_AUTHDATA_SYNTAX_ERROR',
        });
        expect(rig.agent.status().state).toBe('card-present');
        expect(rig.lines.join('')).not.toContain('Set-Cookie');
      } finally {
        await rig.close();
      }
    },
  );

  test('zero roles: ERR_NO_ROLES and no session left behind', async () => {
    const state = await loginFailsWith({ kind: 'zero-roles', count: 1 }, 'ERR_NO_ROLES');
    expect(state).toBe('card-present');
  });

  test('Spine answering 5xx: retried, then ERR_AUTHSERVER_NOT_AVAILABLE', async () => {
    await loginFailsWith(
      { kind: '5xx', count: 10, endpoints: ['/login/authactivate'] },
      'ERR_AUTHSERVER_NOT_AVAILABLE',
    );
  });

  test('Spine hanging: the call times out with ERR_AUTHSERVER_NOT_AVAILABLE, never a hang', async () => {
    await loginFailsWith({ kind: 'hang', count: 10 }, 'ERR_AUTHSERVER_NOT_AVAILABLE', 300);
  });

  test('card removed mid-login: the login fails with ERR_PKCS11_CARD_REMOVED', async () => {
    const card = testCard('prescriber');
    const real = await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 });
    const port = new FaultPort(real);
    port.removeDuringSign(0, { label: 'prescriber', serial: card.serial });
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', port });
    try {
      await expect(rig.agent.login(card.pin)).rejects.toMatchObject({
        code: 'ERR_PKCS11_CARD_REMOVED',
      });
      expect(rig.agent.status().state).toBe('no-card');
    } finally {
      await rig.close();
    }
  });

  test('idle expiry with an injected clock ends the session and logs out at the broker', async () => {
    let now = Date.now();
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', now: () => now });
    try {
      await rig.agent.login(testCard('prescriber').pin);
      const ticket = rig.agent.getTicketNoAuth();
      now += 599 * 60_000; // the simulator's sso_session_time is 600 minutes
      expect(rig.agent.getTicketNoAuth()).toBe(ticket); // use resets the idle time
      now += 601 * 60_000;
      expect(() => rig.agent.getTicketNoAuth()).toThrow(
        expect.objectContaining({ code: 'ERR_TICKET_NOT_AVAILABLE' }),
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(
        await get(
          `${sim.url}/amserver/identity/isTokenValid?tokenid=${encodeURIComponent(ticket)}`,
        ),
      ).toContain('boolean=false');
    } finally {
      await rig.close();
    }
  });
});

describe('negatives needing their own simulator', () => {
  test('unknown user: ERR_USER_NOT_VALID', async () => {
    const sim = await startSim({ exceptUid: testCard('prescriber').uid });
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber' });
    try {
      await expect(rig.agent.login(testCard('prescriber').pin)).rejects.toMatchObject({
        code: 'ERR_USER_NOT_VALID',
      });
    } finally {
      await rig.close();
      await sim.close();
    }
  });

  test('stale challenge: refused by the broker', async () => {
    let offset = 0;
    const sim = await startSim({ clock: () => Date.now() + offset });
    const jump: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith('/login/authactivate')) {
        offset = 10 * 60_000; // the user took ten minutes over the PIN
      }
      return res;
    };
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', fetch: jump });
    try {
      await expect(rig.agent.login(testCard('prescriber').pin)).rejects.toMatchObject({
        code: 'ERR_AUTHENTICATION_FAILED',
        detail: { brokerError: 'STALE_CHALLENGE' },
      });
    } finally {
      await rig.close();
      await sim.close();
    }
  });

  test('Spine down (nothing listening): ERR_AUTHSERVER_NOT_AVAILABLE', async () => {
    const rig = await startAgent({ ssbUrl: 'http://127.0.0.1:9', label: 'prescriber' });
    try {
      await expect(rig.agent.login(testCard('prescriber').pin)).rejects.toMatchObject({
        code: 'ERR_AUTHSERVER_NOT_AVAILABLE',
      });
    } finally {
      await rig.close();
    }
  });

  test('card removal (token folder pulled) ends the session and logs out at the broker within a second', async () => {
    const copy = privateSofthsmCopy();
    process.env.SOFTHSM2_CONF = copy.conf;
    const sim = await startSim({ dir: copy.dir });
    const rig = await startAgent({ ssbUrl: sim.url, label: 'prescriber', pollIntervalMs: 100 });
    try {
      const card = testCard('prescriber', copy.dir);
      await rig.agent.login(card.pin);
      const ticket = rig.agent.getTicketNoAuth();
      const folder =
        readdirSync(join(copy.dir, 'tokens')).find((d) =>
          d.replace(/-/g, '').endsWith(card.serial),
        ) ?? '';
      renameSync(join(copy.dir, 'tokens', folder), join(copy.dir, 'parked'));
      const seen = Date.now();
      while (rig.agent.status().state !== 'no-card' && Date.now() - seen < 5000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(rig.agent.status().state).toBe('no-card');
      expect(() => rig.agent.getTicketNoAuth()).toThrow(
        expect.objectContaining({ code: 'ERR_TICKET_NOT_AVAILABLE' }),
      );
      let valid = true;
      const t0 = Date.now();
      while (valid && Date.now() - t0 < 1000) {
        valid = (
          await get(
            `${sim.url}/amserver/identity/isTokenValid?tokenid=${encodeURIComponent(ticket)}`,
          )
        ).includes('boolean=true');
      }
      expect(valid).toBe(false);
    } finally {
      await rig.close();
      await sim.close();
      process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR}/softhsm2.conf`;
      copy.cleanup();
    }
  });
});
