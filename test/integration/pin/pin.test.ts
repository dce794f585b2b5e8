// The PIN and the card session (docs/pin.md), through the whole agent (src/agent.ts) over HTTP, with the
// SoftHSM prescriber card behind the fault-injecting port (for the PIN flags a real card raises and SoftHSM
// does not, and for card removal) and an injected clock (back-off, session expiry).
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import { agentEnv } from '../../helpers/agent-env.js';
import { openTokenPort } from '../../../src/pkcs11/index.js';
import type { RunningSpineSim } from '../../../src/spine-sim/server.js';
import { FaultPort } from '../../helpers/fault-port.js';
import { clearPinCountLow, softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

const card = testCard('prescriber');
const WRONG = '00000000';
const content = Buffer.from('a document to sign').toString('base64');

let sim: RunningSpineSim;
let running: RunningAgent | undefined;
let port: FaultPort;
let clock = 1_800_000_000_000;
let lines: string[];

beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim?.close();
});
afterEach(async () => {
  await running?.close();
  running = undefined;
  await clearPinCountLow('prescriber');
  expect(lines.join('\n')).not.toContain(card.pin);
});

async function agent(env: Record<string, string> = {}): Promise<RunningAgent> {
  port = new FaultPort(await openTokenPort({ modulePath: softhsmModule(), pollIntervalMs: 0 }));
  // SoftHSM reports "count low" after any wrong PIN; a real card with tries left does not.
  port.setPinFlags({ countLow: false, finalTry: false, locked: false });
  const log = captureLogger();
  lines = log.lines;
  const config = loadConfig({
    RXSIGN_MODULE: softhsmModule(),
    RXSIGN_TOKEN: 'prescriber',
    RXSIGN_SSB_URL: sim.url,
    ...agentEnv('rxsign-pin-'),
    ...env,
  });
  running = await startAgent({
    config,
    logger: log.logger,
    tokenPort: port,
    now: () => clock,
    listenPort: 0,
  });
  return running;
}

const pageSecretOf = (): string =>
  new URL(running?.pageUrl ?? 'http://x/').hash.replace('#page=', '');

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function post(
  path: string,
  body: unknown,
  o: { from?: 'page' | 'cli'; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = running?.url ?? '';
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      // the page: its own origin and session secret; the CLI: the agent's key (docs/security.md)
      ...(o.from === 'page'
        ? { origin: url, authorization: `Bearer ${pageSecretOf()}` }
        : { authorization: `Bearer ${running?.apiKey ?? ''}` }),
      ...o.headers,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  };
}

const pinStatus = async (): Promise<Record<string, unknown>> =>
  (
    (await (
      await fetch(`${running?.url ?? ''}/ticket-api/status`, {
        headers: { authorization: `Bearer ${running?.apiKey ?? ''}` },
      })
    ).json()) as {
      pin: Record<string, unknown>;
    }
  ).pin;

const loginState = () => port.loginState({ label: 'prescriber' });

describe('wrong PINs: back-off, then the agent page only', () => {
  test('a wrong PIN starts a back-off (1 s, 2 s …) refused without touching the card; after two, only the page may try', async () => {
    await agent({ RXSIGN_SIGN_WITHOUT_ROLE: 'true' });
    const first = await post('/api/v1/login', { pin: WRONG });
    expect(first.body.code).toBe('ERR_PKCS11_PIN_INCORRECT');
    expect(port.logins).toBe(1);

    // Within the back-off: refused at once, even with the right PIN, and the card never sees it.
    const early = await post('/api/v1/login', { pin: card.pin });
    expect(early.status).toBe(429);
    expect(early.body).toMatchObject({ code: 'ERR_PIN_BACKOFF', retryAfterMs: 1000 });
    expect(early.headers.get('retry-after')).toBe('1');
    expect(port.logins).toBe(1);
    expect(await pinStatus()).toMatchObject({ failures: 1, retryAfterMs: 1000 });

    clock += 1000;
    expect((await post('/api/v1/login', { pin: WRONG })).body.code).toBe(
      'ERR_PKCS11_PIN_INCORRECT',
    );
    expect(port.logins).toBe(2);
    const second = await post('/api/v1/sign/cms', { content, pin: card.pin });
    expect(second.body).toMatchObject({ code: 'ERR_PIN_BACKOFF', retryAfterMs: 2000 });

    // Two wrong PINs: a local program (no Origin) may not try any more, with the right PIN or not.
    clock += 2000;
    expect(await pinStatus()).toMatchObject({ apiLoginBlocked: true, retryAfterMs: 0 });
    const cli = await post('/api/v1/login', { pin: card.pin });
    expect(cli.status).toBe(403);
    expect(cli.body.code).toBe('ERR_PIN_PAGE_ONLY');
    expect((await post('/api/v1/sign/cms', { content, pin: card.pin })).body.code).toBe(
      'ERR_PIN_PAGE_ONLY',
    );
    expect(port.logins).toBe(2);

    // The page may try; a third wrong PIN doubles the wait again.
    expect((await post('/api/v1/login', { pin: WRONG }, { from: 'page' })).body.code).toBe(
      'ERR_PKCS11_PIN_INCORRECT',
    );
    expect((await post('/api/v1/login', { pin: card.pin }, { from: 'page' })).body).toMatchObject({
      code: 'ERR_PIN_BACKOFF',
      retryAfterMs: 4000,
    });
    expect(port.logins).toBe(3);
    clock += 4000;
    // The user logs in on the page: accepted, and the count starts again.
    const page = await post('/api/v1/login', { pin: card.pin }, { from: 'page' });
    expect(page.body.state).toBe('active');
    expect(await pinStatus()).toMatchObject({
      failures: 0,
      apiLoginBlocked: false,
      retryAfterMs: 0,
    });
  });

  test('a burst of wrong PINs reaches the card once (was: hundreds a second)', async () => {
    await agent({ RXSIGN_SIGN_WITHOUT_ROLE: 'true' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post('/api/v1/sign/cms', { content, pin: WRONG })),
    );
    const codes = answers.map((a) => a.body.code);
    expect(codes.filter((c) => c === 'ERR_PKCS11_PIN_INCORRECT')).toHaveLength(1);
    expect(codes.filter((c) => c === 'ERR_PIN_BACKOFF')).toHaveLength(19);
    expect(port.logins).toBe(1);
  });
});

describe('few tries left (CKF_USER_PIN_COUNT_LOW / CKF_USER_PIN_FINAL_TRY): the page only, after a warning', () => {
  test.each([
    ['count low', { countLow: true, finalTry: false, locked: false }, 'triesLow'],
    ['final try', { countLow: false, finalTry: true, locked: false }, 'finalTry'],
  ] as const)(
    '%s: status warns; CLI and signing refused; the page needs acknowledgeFinalTry',
    async (_n, flags, key) => {
      await agent({ RXSIGN_SIGN_WITHOUT_ROLE: 'true' });
      port.setPinFlags(flags);
      const cli = await post('/api/v1/login', { pin: card.pin });
      expect(cli.body.code).toBe('ERR_PIN_PAGE_ONLY');
      expect(await pinStatus()).toMatchObject({ [key]: true, apiLoginBlocked: true });
      expect((await post('/api/v1/sign/cms', { content, pin: card.pin })).body.code).toBe(
        'ERR_PIN_PAGE_ONLY',
      );
      const unacknowledged = await post('/api/v1/login', { pin: card.pin }, { from: 'page' });
      expect(unacknowledged.status).toBe(428);
      expect(unacknowledged.body.code).toBe('ERR_PIN_ACK_REQUIRED');
      expect(port.logins).toBe(0);
      const ok = await post(
        '/api/v1/login',
        { pin: card.pin, acknowledgeFinalTry: true },
        { from: 'page' },
      );
      expect(ok.body.state).toBe('active');
      expect(port.logins).toBe(1);
    },
  );

  test('a locked card is refused without a C_Login', async () => {
    await agent();
    port.setPinFlags({ locked: true });
    const res = await post(
      '/api/v1/login',
      { pin: card.pin, acknowledgeFinalTry: true },
      { from: 'page' },
    );
    expect(res.body.code).toBe('ERR_PKCS11_PIN_LOCKED');
    expect(port.logins).toBe(0);
    expect(await pinStatus()).toMatchObject({ locked: true });
  });

  test('a card that reaches its final try on a wrong PIN: the next API try is refused, the page warns', async () => {
    await agent();
    port.setPinFlags({});
    port.lockAfterWrongPins(2);
    expect((await post('/api/v1/login', { pin: WRONG })).body.code).toBe(
      'ERR_PKCS11_PIN_FINAL_TRY',
    );
    clock += 1000;
    expect(await pinStatus()).toMatchObject({ finalTry: true, apiLoginBlocked: true });
    expect((await post('/api/v1/login', { pin: card.pin })).body.code).toBe('ERR_PIN_PAGE_ONLY');
    expect(port.logins).toBe(1);
  });
});

describe('a failed login never ends a live session', () => {
  test('a wrong PIN on /api/v1/login with a live session: refused, no C_Logout, the ticket and card login go on', async () => {
    await agent();
    expect((await post('/api/v1/login', { pin: card.pin })).body.state).toBe('active');
    const ticket = (await post('/ticket-api/getTicketNoAuth', {})).body.ticket;
    expect(typeof ticket).toBe('string');
    const logins = port.logins;

    const wrong = await post('/api/v1/login', { pin: WRONG });
    expect(wrong.body.code).toBe('ERR_PKCS11_PIN_INCORRECT');
    expect(port.logins).toBe(logins); // checked against the live login: the card's counter untouched
    expect(port.logouts).toEqual([]);
    expect(await loginState()).toBe('logged-in');
    expect((await post('/ticket-api/getTicketNoAuth', {})).body.ticket).toBe(ticket);
    // and signing goes on with the live login
    expect((await post('/api/v1/sign/cms', { content })).body.format).toBe('der');
  });

  test('the right PIN with a live session starts a fresh one', async () => {
    await agent();
    await post('/api/v1/login', { pin: card.pin });
    const ticket = (await post('/ticket-api/getTicketNoAuth', {})).body.ticket;
    expect((await post('/api/v1/login', { pin: card.pin })).body.state).toBe('active');
    expect((await post('/ticket-api/getTicketNoAuth', {})).body.ticket).not.toBe(ticket);
  });
});

describe('ending the Spine session logs the card out: signing needs the PIN again', () => {
  const ends: [string, (a: RunningAgent) => Promise<void>][] = [
    [
      'POST /api/v1/logout',
      async () => {
        expect((await post('/api/v1/logout', {})).body).toEqual({ ok: true });
      },
    ],
    [
      'Ticket API destroyTicket',
      async () => {
        expect((await post('/ticket-api/destroyTicket', {})).body).toEqual({ ok: true });
      },
    ],
    [
      'idle expiry (injected clock)',
      async (a) => {
        clock += 601 * 60_000;
        a.agent.checkExpiry();
      },
    ],
    [
      'card removal',
      async (a) => {
        const c = a.agent.card;
        if (c === undefined) {
          throw new Error('no card');
        }
        port.remove(c);
        await port.reinsert();
      },
    ],
  ];
  test.each(ends)('%s', async (_name, end) => {
    const a = await agent({ RXSIGN_SIGN_WITHOUT_ROLE: 'true' });
    await post('/api/v1/login', { pin: card.pin });
    expect((await post('/api/v1/sign/cms', { content })).body.format).toBe('der');
    await end(a);
    await expect.poll(() => a.agent.status().state).toBe('card-present');
    await expect.poll(loginState).toBe('logged-out');
    const res = await post('/api/v1/sign/cms', { content });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('ERR_SIGN_PIN_REQUIRED');
    // and the PIN brings it back
    expect((await post('/api/v1/sign/cms', { content, pin: card.pin })).body.format).toBe('der');
  });

  test('maximum session time (injected clock, the session kept in use)', async () => {
    const a = await agent({ RXSIGN_SIGN_WITHOUT_ROLE: 'true' });
    await post('/api/v1/login', { pin: card.pin });
    for (let i = 0; i < 3; i++) {
      clock += 300 * 60_000; // used every 5 h: never idle 10 h, but past the 10 h maximum
      a.agent.checkExpiry();
      await post('/ticket-api/getTicketNoAuth', {});
    }
    await expect.poll(loginState).toBe('logged-out');
    expect((await post('/api/v1/sign/cms', { content })).body.code).toBe('ERR_SIGN_PIN_REQUIRED');
  });
});

describe('a PIN sent with a signing request is always checked', () => {
  test('session policy, card logged in: a wrong PIN is refused (was: ignored and signed), the login goes on', async () => {
    await agent();
    await post('/api/v1/login', { pin: card.pin });
    // the card session now holds the login (a signature made with it)
    expect((await post('/api/v1/sign/cms', { content })).body.format).toBe('der');
    const logins = port.logins;
    const wrong = await post('/api/v1/sign/cms', { content, pin: WRONG });
    expect(wrong.body.code).toBe('ERR_PKCS11_PIN_INCORRECT');
    expect(wrong.body.format).toBeUndefined();
    expect(port.logins).toBe(logins); // checked against the live login, not on the card
    expect(await loginState()).toBe('logged-in');
    clock += 1000;
    expect((await post('/api/v1/sign/cms', { content, pin: card.pin })).body.format).toBe('der');
    expect((await post('/api/v1/sign/cms', { content })).body.format).toBe('der');
    expect((await post('/ticket-api/getTicketNoAuth', {})).status).toBe(200);
  });

  test('per-signature policy: the card checks the PIN on every call; none → ERR_SIGN_PIN_REQUIRED', async () => {
    await agent({ RXSIGN_PIN_POLICY: 'per-signature' });
    await post('/api/v1/login', { pin: card.pin });
    const logins = port.logins;
    expect((await post('/api/v1/sign/cms', { content, pin: card.pin })).body.format).toBe('der');
    expect(port.logins).toBe(logins + 1);
    expect((await post('/api/v1/sign/cms', { content })).body.code).toBe('ERR_SIGN_PIN_REQUIRED');
    expect((await post('/api/v1/sign/cms', { content, pin: WRONG })).body.code).toBe(
      'ERR_PKCS11_PIN_INCORRECT',
    );
    expect(port.logins).toBe(logins + 2);
  });
});

describe('the HL7 route takes no PIN from a header', () => {
  test('X-Rxsign-Pin → 400 ERR_PIN_IN_HEADER, the card never sees it', async () => {
    await agent({ RXSIGN_SIGN_WITHOUT_ROLE: 'true' });
    const res = await fetch(`${running?.url ?? ''}/api/v1/sign/hl7`, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml',
        'x-rxsign-pin': card.pin,
        authorization: `Bearer ${running?.apiKey ?? ''}`,
      },
      body: '<ParentPrescription xmlns="urn:hl7-org:v3"/>',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('ERR_PIN_IN_HEADER');
    expect(port.logins).toBe(0);
  });
});
