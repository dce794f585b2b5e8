// The Credential Management port service and classic SignalR hub over real HTTP on loopback (docs/cm.md):
// discovery, the seven SignalR endpoints, origin binding of connection tokens, refusals before any work,
// the hub's own deadline. The signing behind requestToSign is a recording function here; the whole path
// through the agent, SoftHSM and Chromium is test/integration/cm/.
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { ConnectionTable } from '../../src/cm/connections.js';
import {
  CM_STATUS,
  hubRequestHandler,
  startCmService,
  type HubResponse,
  type RunningCmService,
  type SignRequest,
} from '../../src/cm/index.js';
import { createLogger } from '../../src/log.js';

const ORIGIN = 'https://rx.example.nhs.uk';
const logger = createLogger({ level: 'silent' });
const started: RunningCmService[] = [];
const blockers: Server[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
  await Promise.all(blockers.splice(0).map((b) => new Promise((r) => b.close(r))));
});

const ok = (ids: readonly string[]): HubResponse => ({
  certificate: 'MIIB',
  signatures: ids.map((id) => ({ id, signature: 'c2ln' })),
  failed_signatures: [],
  status_code: 0,
  status_string: 'Success',
  message: '',
  timestamp: new Date().toISOString(),
});

async function start(
  o: Partial<Parameters<typeof startCmService>[0]> = {},
): Promise<{ cm: RunningCmService; calls: { request: SignRequest; origin: string }[] }> {
  const calls: { request: SignRequest; origin: string }[] = [];
  const cm = await startCmService({
    ports: [0],
    allowedOrigins: [ORIGIN],
    logger,
    available: () => true,
    requestToSign: async (request, origin) => {
      calls.push({ request, origin });
      return ok(request.payloads.map((p) => p.id));
    },
    pollHoldMs: 50,
    ...o,
  });
  started.push(cm);
  return { cm, calls };
}

function get(
  cm: RunningCmService,
  path: string,
  headers: Record<string, string> = { origin: ORIGIN },
): Promise<Response> {
  return fetch(`http://localhost:${cm.port}${path}`, { headers });
}

/** A GET with a Host header of our choosing (fetch may not set Host). */
function getWithHost(cm: RunningCmService, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: cm.port, path, headers: { host, origin: ORIGIN } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function post(
  cm: RunningCmService,
  path: string,
  body: string,
  origin = ORIGIN,
): Promise<Response> {
  return fetch(`http://localhost:${cm.port}${path}`, {
    method: 'POST',
    headers: {
      origin,
      'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
    },
    body,
  });
}

const q = (token: string): string =>
  `transport=longPolling&clientProtocol=2.1&connectionToken=${encodeURIComponent(token)}&connectionData=%5B%5D&_=1`;

async function negotiate(cm: RunningCmService, origin = ORIGIN): Promise<string> {
  const res = await get(cm, '/signalr/negotiate?clientProtocol=2.1&connectionData=%5B%5D&_=1', {
    origin,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { ConnectionToken: string }).ConnectionToken;
}

const requestB64 = (r: unknown): string => Buffer.from(JSON.stringify(r)).toString('base64');
const invocation = (arg: unknown, m = 'requestToSign', h = 'signinghub'): string =>
  `data=${encodeURIComponent(JSON.stringify({ H: h, M: m, A: [arg], I: 0 }))}`;
const GOOD = {
  algorithm: 'RS256',
  requestType: 1,
  version: 1,
  flags: 0,
  payloads: [{ id: 'rx-1', payload: 'PFNpZ25lZEluZm8+PC9TaWduZWRJbmZvPg==' }],
};

describe('port service (docs/cm.md §2)', () => {
  test('GetPortNumber answers the hub port with exact-origin CORS and credentials', async () => {
    const { cm } = await start();
    const res = await get(cm, '/PRS/GetPortNumber');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ portData: { portNumber: cm.port } });
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toBe('Origin');
  });

  test.each([
    ['a foreign origin', { origin: 'https://evil.example' }],
    ['Origin: null', { origin: 'null' }],
    ['no Origin', {} as Record<string, string>],
  ])('%s is refused with 403 and no CORS headers', async (_name, headers) => {
    const { cm } = await start();
    const res = await get(cm, '/PRS/GetPortNumber', headers);
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a Host other than localhost/127.0.0.1/[::1] with this port is refused (DNS rebinding)', async () => {
    const { cm } = await start();
    expect(await getWithHost(cm, '/PRS/GetPortNumber', 'evil.example')).toBe(403);
    expect(await getWithHost(cm, '/PRS/GetPortNumber', `evil.example:${cm.port}`)).toBe(403);
    expect(await getWithHost(cm, '/PRS/GetPortNumber', `localhost:${cm.port + 1}`)).toBe(403);
    expect(await getWithHost(cm, '/PRS/GetPortNumber', `[::1]:${cm.port}`)).toBe(200);
  });

  test.skipIf(process.getuid?.() !== 0)(
    "another OS user's browser is refused (the client socket's owner, from the kernel's socket table)",
    async () => {
      const { cm, calls } = await start();
      const script = `fetch('http://localhost:${cm.port}/PRS/GetPortNumber', { headers: { origin: '${ORIGIN}' } }).then((r) => process.stdout.write(String(r.status)))`;
      const { stdout } = await promisify(execFile)('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        '-e',
        script,
      ]);
      expect(stdout).toBe('403');
      // and the same request from this user passes
      expect((await get(cm, '/PRS/GetPortNumber')).status).toBe(200);
      expect(calls).toHaveLength(0);
    },
  );

  test('no usable card: HTTP 200 with the PR30007 fault in both casings', async () => {
    const { cm } = await start({ available: () => false });
    const res = await get(cm, '/PRS/GetPortNumber');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, Record<string, string>>;
    expect(body.faultException?.code).toBe('PR30007');
    expect(body.FaultException?.Code).toBe('PR30007');
    expect(body.faultException?.message).toMatch(/Unable to find CM process/);
  });

  test('a stopping service answers the fault', async () => {
    const { cm } = await start();
    cm.stopping();
    const body = (await (await get(cm, '/PRS/GetPortNumber')).json()) as Record<string, unknown>;
    expect(body).toHaveProperty('faultException');
  });

  test('ConnectPRService answers statusCode 200 (the older library)', async () => {
    const { cm } = await start();
    expect(await (await get(cm, '/PRS/ConnectPRService')).json()).toEqual({ statusCode: 200 });
  });

  test('a preflight from an allowed origin, Private Network Access included, is answered', async () => {
    const { cm } = await start();
    const res = await fetch(`http://127.0.0.1:${cm.port}/PRS/GetPortNumber`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-private-network': 'true',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-private-network')).toBe('true');
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });

  test('the first port whose 127.0.0.1 or [::1] is taken is skipped', async () => {
    const taken = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        resolve((s.address() as { port: number }).port);
      });
      blockers.push(s);
    });
    const { cm } = await start({ ports: [taken, 0] });
    expect(cm.port).not.toBe(taken);
    const v6taken = await new Promise<number | undefined>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(0, '::1', () => resolve((s.address() as { port: number }).port));
      blockers.push(s);
    });
    if (v6taken !== undefined) {
      const second = await start({ ports: [v6taken, 0] });
      expect(second.cm.port).not.toBe(v6taken);
    }
  });

  test('no free port: a clear error, not a crash', async () => {
    const taken = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        resolve((s.address() as { port: number }).port);
      });
      blockers.push(s);
    });
    await expect(start({ ports: [taken] })).rejects.toMatchObject({ code: 'ERR_CM_NO_PORT' });
  });
});

describe('classic SignalR long polling (docs/cm.md §3)', () => {
  test('negotiate → connect → start → poll → send, in the shapes the client checks', async () => {
    const { cm, calls } = await start();
    const neg = (await (
      await get(cm, '/signalr/negotiate?clientProtocol=2.1&connectionData=%5B%5D&_=1')
    ).json()) as Record<string, unknown>;
    expect(neg).toMatchObject({ Url: '/signalr', ProtocolVersion: '1.5', TryWebSockets: false });
    expect(neg).not.toHaveProperty('availableTransports');
    const token = neg.ConnectionToken as string;
    const connect = (await (await post(cm, `/signalr/connect?${q(token)}`, '')).json()) as Record<
      string,
      unknown
    >;
    expect(connect).toMatchObject({ S: 1, M: [] });
    expect(await (await get(cm, `/signalr/start?${q(token)}`)).json()).toEqual({
      Response: 'started',
    });
    const poll = (await (
      await post(cm, `/signalr/poll?${q(token)}`, `messageId=${String(connect.C)}`)
    ).json()) as Record<string, unknown>;
    expect(poll).toMatchObject({ M: [], L: 15_000 });
    const send = await post(cm, `/signalr/send?${q(token)}`, invocation(requestB64(GOOD)));
    expect(send.status).toBe(200);
    const answer = (await send.json()) as { I: string; R: HubResponse };
    expect(answer.I).toBe('0');
    expect(answer.R.status_code).toBe(0);
    expect(answer.R.signatures).toEqual([{ id: 'rx-1', signature: 'c2ln' }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.origin).toBe(ORIGIN);
    expect(await (await get(cm, '/signalr/ping?_=1')).json()).toEqual({ Response: 'pong' });
    expect((await post(cm, `/signalr/abort?${q(token)}`, '')).status).toBe(200);
    expect((await get(cm, `/signalr/start?${q(token)}`)).status).toBe(403);
  });

  test('the hub and method names match case-insensitively; another method is an E answer', async () => {
    const { cm, calls } = await start();
    const token = await negotiate(cm);
    const upper = (await (
      await post(
        cm,
        `/signalr/send?${q(token)}`,
        invocation(requestB64(GOOD), 'REQUESTTOSIGN', 'SigningHub'),
      )
    ).json()) as { R: HubResponse };
    expect(upper.R.status_code).toBe(0);
    const other = (await (
      await post(cm, `/signalr/send?${q(token)}`, invocation('x', 'deleteEverything'))
    ).json()) as { E?: string };
    expect(other.E).toMatch(/not a method/);
    expect(calls).toHaveLength(1);
  });

  test('a connection token is bound to its origin: from another allowed origin it is unknown', async () => {
    const other = 'https://other.example.nhs.uk';
    const { cm, calls } = await start({ allowedOrigins: [ORIGIN, other] });
    const token = await negotiate(cm);
    const res = await post(cm, `/signalr/send?${q(token)}`, invocation(requestB64(GOOD)), other);
    expect(res.status).toBe(403);
    expect(calls).toHaveLength(0);
  });

  test('an unknown token, a wrong transport and a foreign origin are refused before any signing', async () => {
    const { cm, calls } = await start();
    expect(
      (await post(cm, `/signalr/send?${q('nope')}`, invocation(requestB64(GOOD)))).status,
    ).toBe(403);
    const token = await negotiate(cm);
    const ws = `/signalr/send?transport=webSockets&connectionToken=${encodeURIComponent(token)}`;
    expect((await post(cm, ws, invocation(requestB64(GOOD)))).status).toBe(400);
    const foreign = await post(
      cm,
      `/signalr/send?${q(token)}`,
      invocation(requestB64(GOOD)),
      'https://evil.example',
    );
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(calls).toHaveLength(0);
  });

  test.each([
    ['not base64', '!!!'],
    ['base64 of text', Buffer.from('Some Payload').toString('base64')],
    ['a wrong algorithm', requestB64({ ...GOOD, algorithm: 'ES256' })],
    ['no payloads', requestB64({ ...GOOD, payloads: [] })],
    [
      '251 payloads',
      requestB64({
        ...GOOD,
        payloads: Array.from({ length: 251 }, (_, i) => ({ id: `p${i}`, payload: 'AA==' })),
      }),
    ],
    ['duplicate ids', requestB64({ ...GOOD, payloads: [GOOD.payloads[0], GOOD.payloads[0]] })],
    ['an extra field', requestB64({ ...GOOD, extra: 1 })],
    // Was a 500: the grouped base64 regexp overflowed V8's stack on a few million characters.
    ['6 MB of valid base64 that is not a request', 'A'.repeat(6 * 1024 * 1024)],
  ])(
    '%s: the "Failed to process inbound JSON request" HubResponse, nothing signed',
    async (_n, arg) => {
      const { cm, calls } = await start();
      const token = await negotiate(cm);
      const answer = (await (
        await post(cm, `/signalr/send?${q(token)}`, invocation(arg))
      ).json()) as { R: HubResponse };
      expect(answer.R.status_code).toBe(CM_STATUS.BAD_REQUEST);
      expect(answer.R.message).toMatch(/Failed to process inbound JSON request/);
      expect(calls).toHaveLength(0);
    },
  );

  test('a send whose data is not JSON is a 400, not a 500', async () => {
    const { cm } = await start();
    const token = await negotiate(cm);
    expect((await post(cm, `/signalr/send?${q(token)}`, 'data=%7B')).status).toBe(400);
    expect((await post(cm, `/signalr/send?${q(token)}`, '')).status).toBe(400);
  });

  test('the hub sets its own deadline: a signing that never ends is a TIMEOUT HubResponse and is aborted', async () => {
    let aborted = false;
    const { cm } = await start({
      sendDeadlineMs: 100,
      requestToSign: (_r, _o, signal) =>
        new Promise<HubResponse>(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    });
    const token = await negotiate(cm);
    const answer = (await (
      await post(cm, `/signalr/send?${q(token)}`, invocation(requestB64(GOOD)))
    ).json()) as { R: HubResponse };
    expect(answer.R.status_code).toBe(CM_STATUS.TIMEOUT);
    expect(aborted).toBe(true);
  });

  test('a page that goes away while its question waits withdraws it: the signing is aborted at once, not at the deadline', async () => {
    // Before: only the hub's deadline (120 s) aborted it; the user could still allow a batch no page would read.
    let aborted = false;
    const { cm } = await start({
      sendDeadlineMs: 30_000,
      requestToSign: (_r, _o, signal) =>
        new Promise<HubResponse>(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    });
    const token = await negotiate(cm);
    const page = new AbortController();
    const sent = fetch(`http://localhost:${cm.port}/signalr/send?${q(token)}`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: invocation(requestB64(GOOD)),
      signal: page.signal,
    }).catch(() => 'closed');
    await new Promise((r) => setTimeout(r, 200));
    expect(aborted).toBe(false);
    page.abort();
    expect(await sent).toBe('closed');
    for (let i = 0; i < 100 && !aborted; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(aborted).toBe(true);
  });

  test('too many questions already waiting: a BUSY HubResponse, not "the user declined"', async () => {
    const signed: unknown[] = [];
    const handler = hubRequestHandler({
      cardPresent: () => true,
      approve: () => Promise.resolve({ answer: 'busy' }),
      waitForSession: () => Promise.resolve({ uid: '555021935107' }),
      signBatch: (request) => {
        signed.push(request);
        return Promise.resolve({ certificate: 'MIIB', signatures: [], failed_signatures: [] });
      },
    });
    const answer = await handler(GOOD as SignRequest, ORIGIN, new AbortController().signal);
    expect(answer.status_code).toBe(CM_STATUS.BUSY);
    expect(answer.status_code).not.toBe(CM_STATUS.DECLINED);
    expect(answer.message).toMatch(/Try again later/);
    expect(signed).toHaveLength(0);
  });

  test('close() answers held polls at once', async () => {
    const { cm } = await start({ pollHoldMs: 60_000 });
    const token = await negotiate(cm);
    const pending = post(cm, `/signalr/poll?${q(token)}`, 'messageId=1');
    await new Promise((r) => setTimeout(r, 50));
    await cm.close();
    const res = await pending.catch(() => undefined);
    expect(res === undefined || res.status === 200).toBe(true);
  });
});

describe('connection table (docs/cm.md §7)', () => {
  test('an idle connection expires; the oldest goes first past the cap', () => {
    let t = 0;
    const table = new ConnectionTable({ idleMs: 1_000, maxConnections: 2, now: () => t });
    const a = table.open('o');
    t = 10;
    const b = table.open('o');
    t = 20;
    const c = table.open('o');
    expect(table.use(a.token, 'o')).toBeUndefined();
    expect(table.use(b.token, 'o')).toBe(b);
    expect(table.use(c.token, 'other')).toBeUndefined();
    t = 2_000;
    expect(table.use(c.token, 'o')).toBeUndefined();
    table.sweep();
    expect(table.size).toBe(0);
  });
});
