// Property-based fuzz (fast-check) over every route of the running agent (real SoftHSM card, the Spine
// simulator, the audit log): methods, paths, query strings, headers (Host, Origin, content type and
// encoding, PIN header, credentials), and bodies (JSON of every route's shape, arbitrary JSON, bytes, gzip).
//
// Properties, for every request (local callers authenticate with the agent's key once the agent has one):
// - never a 5xx, never a crash (the agent answers its status route after every request);
// - a caller that is not allowed (foreign Host, foreign or null Origin) never gets a 2xx, and never a ticket
//   or a signature in any body;
// - the ticket appears only in a 2xx answer of a ticket route to an allowed caller.
// Runs RXSIGN_FUZZ_RUNS cases (default 2000, under a minute on 2 cores); set it higher for a longer run.
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import { buildSignedInfo } from '../../../src/prescription/index.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

const RUNS = Number(process.env.RXSIGN_FUZZ_RUNS ?? '2000');
/** Allowlisted and pre-approved by the user. */
const ALLOWED_ORIGIN = 'https://ehr.example.nhs.uk';
/** Allowlisted, never approved (its approval requests time out at once). */
const UNAPPROVED_ORIGIN = 'https://other-ehr.example.nhs.uk';
const card = testCard('prescriber');

const ROUTES = [
  ['GET', '/'],
  ['POST', '/ticket-api/getTicket'],
  ['POST', '/ticket-api/getTicketNoAuth'],
  ['POST', '/ticket-api/getNewTicket'],
  ['POST', '/ticket-api/destroyTicket'],
  ['GET', '/ticket-api/status'],
  ['POST', '/api/v1/login'],
  ['POST', '/api/v1/role'],
  ['POST', '/api/v1/logout'],
  ['POST', '/api/v1/verify'],
  ['POST', '/api/v1/verify/batch'],
  ['POST', '/api/v1/sign/eps'],
  ['POST', '/api/v1/sign/hl7'],
  ['POST', '/api/v1/sign/cms'],
  ['GET', '/api/v1/status'],
  ['GET', '/api/v1/events'],
  ['GET', '/api/v1/openapi.json'],
  ['POST', '/api/v1/cis2/assertion'],
  ['GET', '/api/v1/cis2/session'],
] as const;
/** Routes that hand out a ticket or a signature (a CIS2 card assertion is signed by the card too). */
const PROTECTED = /^\/(ticket-api\/get|api\/v1\/sign\/|api\/v1\/cis2\/assertion)/;
/** Routes that may wait (for a login) longer than a fuzz request is given. */
const WAITING = /^\/(ticket-api\/get(New)?Ticket|api\/v1\/events)$/;

/** A request that may wait: a waiting route, or a web page's request waiting for the user's approval. */
function mayWait(c: { path: string; origin: string }): boolean {
  return WAITING.test(c.path) || (c.origin === 'unapproved' && PROTECTED.test(c.path));
}

const signedInfo = Buffer.from(
  buildSignedInfo(new TextEncoder().encode('<Fragment>fuzz</Fragment>'), 'RS256'),
).toString('base64');

interface Case {
  method: string;
  path: string;
  query: string;
  host: 'ok' | 'localhost' | 'evil' | 'rebind';
  origin: 'none' | 'self' | 'allowed' | 'unapproved' | 'evil' | 'null';
  /** The agent's own key, a wrong one, or none (`authorization` then carries noise, or nothing). */
  credential: 'key' | 'wrong' | 'none';
  contentType: string | undefined;
  encoding: 'none' | 'gzip' | 'bogus' | 'gzip-lie';
  pin: string | undefined;
  authorization: string | undefined;
  body: Buffer | undefined;
}

const printable = fc.string({
  unit: fc.constantFrom(...'abc019 _-./:;=+%&?#@!"\'<>[]{}'.split('')),
});

const jsonish = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.constant('{}'),
  fc.constant(''),
  fc.constant('null'),
  fc.constant('['.repeat(5000) + ']'.repeat(5000)),
  fc.constant('{"a":'.repeat(100) + '1' + '}'.repeat(100)),
  fc
    .record({ timeoutMs: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.double(), printable) })
    .map((v) => JSON.stringify(v)),
  fc
    .record({
      pin: fc.oneof(fc.constant(card.pin), printable, fc.integer()),
      roleId: fc.oneof(fc.constant('555000000101'), printable),
    })
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        payloads: fc.oneof(
          fc.array(
            fc.record({
              id: fc.oneof(printable, fc.constant('rx-1')),
              payload: fc.oneof(
                fc.constant(signedInfo),
                fc.base64String(),
                printable,
                fc.constant(Buffer.from('<SignedInfo>anything</SignedInfo>').toString('base64')),
              ),
            }),
            { maxLength: 5 },
          ),
          fc.json(),
        ),
        algorithm: fc.constantFrom('RS256', 'RS1', 'ES256', '', 'rs256'),
        timestamp: fc.oneof(fc.constant(new Date().toISOString()), printable),
        pin: fc.oneof(fc.constant(card.pin), printable),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        content: fc.oneof(fc.base64String({ minLength: 4 }), printable),
        detached: fc.oneof(fc.boolean(), printable),
        pem: fc.boolean(),
        pin: fc.oneof(fc.constant(card.pin), printable),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        nonce: fc.oneof(fc.constant('bm9uY2Utbm9uY2Utbm9uY2U'), printable),
        audience: fc.oneof(fc.constant('https://cis2.example/token'), printable),
        authAfter: fc.oneof(fc.integer({ min: 0, max: 2e9 }), fc.double()),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record({
      documents: fc.array(
        fc.record({
          id: printable,
          content: fc.base64String(),
          detachedContent: fc.base64String(),
        }),
        { maxLength: 3 },
      ),
    })
    .map((v) => JSON.stringify(v)),
);

const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: jsonish.map((t) => Buffer.from(t, 'utf8')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '<?xml version="1.0"?><ParentPrescription xmlns="urn:hl7-org:v3"/>',
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        '<a>' + '<b>'.repeat(2000) + '</b>'.repeat(2000) + '</a>',
        '\uFEFF{"pin":"1"}',
      )
      .map((t) => Buffer.from(t, 'utf8')),
  },
);

const caseArb: fc.Arbitrary<Case> = fc.record({
  method: fc.oneof(
    { weight: 4, arbitrary: fc.constant('') }, // the route's own method
    {
      weight: 1,
      arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    },
  ),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ROUTES.map((r) => r[1])) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/api/v1/sign/eps/',
        '/API/V1/SIGN/CMS',
        '/api/v1/sign/%65ps',
        '/api/v1/../ticket-api/getTicketNoAuth',
        '/ticket-api/getTicketNoAuth%00',
        '//ticket-api/getTicketNoAuth',
        '/api/v1/nope',
        '/%',
      ),
    },
    { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
  ),
  query: fc.oneof(
    { weight: 4, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.webQueryParameters().map((q) => `?${q}`) },
    { weight: 1, arbitrary: fc.constantFrom('?pin=1234', '?a[b][c]=1&a=2', '?%', '?x=%ZZ') },
  ),
  host: fc.constantFrom('ok', 'ok', 'localhost', 'evil', 'rebind'),
  origin: fc.constantFrom('none', 'none', 'self', 'allowed', 'unapproved', 'evil', 'null'),
  credential: fc.constantFrom('key', 'key', 'wrong', 'none'),
  contentType: fc.option(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'application/fhir+json',
      'application/xml',
      'text/xml',
      'application/hl7-v3+xml',
      'application/pkcs7-mime',
      'application/octet-stream',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      '*/*',
      'garbage',
    ),
    { freq: 5, nil: undefined },
  ),
  encoding: fc.constantFrom('none', 'none', 'none', 'gzip', 'bogus', 'gzip-lie'),
  pin: fc.option(fc.oneof(fc.constant(card.pin), printable), { freq: 4, nil: undefined }),
  authorization: fc.option(
    fc.oneof(
      printable.map((p) => `Bearer ${p}`),
      fc.constant('Basic Zm9vOmJhcg=='),
    ),
    { freq: 4, nil: undefined },
  ),
  body: bodyArb,
});

interface Answer {
  status: number;
  body: string;
  timedOut: boolean;
}

function send(base: string, c: Case, apiKey: string | undefined): Promise<Answer> {
  const url = new URL(base);
  const port = url.port;
  const route = ROUTES.find((r) => r[1] === c.path);
  const method = c.method === '' ? (route?.[0] ?? 'POST') : c.method;
  const headers: Record<string, string> = {
    host: {
      ok: `127.0.0.1:${port}`,
      localhost: `localhost:${port}`,
      evil: 'evil.example',
      rebind: `attacker.example:${port}`,
    }[c.host],
  };
  const origin = {
    none: undefined,
    self: `http://127.0.0.1:${port}`,
    allowed: ALLOWED_ORIGIN,
    unapproved: UNAPPROVED_ORIGIN,
    evil: 'https://evil.example',
    null: 'null',
  }[c.origin];
  if (origin !== undefined) {
    headers.origin = origin;
  }
  if (c.contentType !== undefined) {
    headers['content-type'] = c.contentType;
  }
  let body = c.body;
  if (body !== undefined && c.encoding !== 'none') {
    headers['content-encoding'] = c.encoding === 'bogus' ? 'x-bogus' : 'gzip';
    if (c.encoding === 'gzip') {
      body = gzipSync(body);
    }
  }
  if (c.pin !== undefined) {
    headers['x-rxsign-pin'] = c.pin;
  }
  if (c.credential === 'key' && apiKey !== undefined) {
    headers.authorization = `Bearer ${apiKey}`;
  } else if (c.credential === 'wrong' && apiKey !== undefined) {
    headers.authorization = `Bearer ${apiKey.slice(0, -2)}${apiKey.endsWith('AA') ? 'BB' : 'AA'}`;
  } else if (c.authorization !== undefined) {
    headers.authorization = c.authorization;
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path: `${c.path}${c.query}`, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('latin1'),
            timedOut: false,
          }),
        );
        // A stream (GET /api/v1/events) answers at once and never ends: left after the timeout below.
        res.on('error', (err) =>
          req.destroyed ? resolve({ status: 0, body: '', timedOut: true }) : reject(err),
        );
      },
    );
    // A route that waits for a login (getTicket) is given 0.3 s, then left; any other route 10 s (a hang).
    req.setTimeout(mayWait(c) ? 300 : 10_000, () => {
      req.destroy();
      resolve({ status: 0, body: '', timedOut: true });
    });
    req.on('error', (err) => {
      if (req.destroyed) {
        resolve({ status: 0, body: '', timedOut: true });
      } else {
        reject(err);
      }
    });
    req.end(body);
  });
}

const profile = new Map<string, number>();
/** Tickets and signatures handed out (to allowed callers): shows the fuzz reaches the success paths. */
const granted = new Map<string, number>();
afterAll(() => {
  if (process.env.RXSIGN_FUZZ_PROFILE) {
    const top = [...profile].sort((x, y) => y[1] - x[1]).slice(0, 15);
    process.stderr.write(top.map(([k, v]) => `${Math.round(v)} ms ${k}`).join('\n') + '\n');
  }
});

/**
 * May this caller get a ticket or a signature? Loopback Host always; then, before local callers were
 * authenticated (no `apiKey` on the running agent), anything but a foreign or null Origin; with
 * authentication (docs/security.md): a local program with the agent's key, or the pre-approved web origin.
 */
function allowedCaller(c: Case, auth: boolean): boolean {
  const hostOk = c.host === 'ok' || c.host === 'localhost';
  if (!auth) {
    // Every allowlisted origin (there were no approvals yet).
    return hostOk && c.origin !== 'evil' && c.origin !== 'null';
  }
  return (
    hostOk &&
    ((c.credential === 'key' && (c.origin === 'none' || c.origin === 'self')) ||
      c.origin === 'allowed')
  );
}

/** Routes anyone on loopback may read (the static page, status for allowlisted web pages, hello). */
const OPEN_ROUTES = /^\/($|page\.(js|css)$|api\/v1\/hello$)/;
/** Public documentation (the OpenAPI document, docs/errors.md): it names the answers' fields, never holds one. */
const DOCUMENTATION = /^\/(api\/v1\/openapi\.json|errors)$/;

describe('fuzz: every route of the running agent (fast-check)', () => {
  let sim: RunningSpineSim;
  let agent: RunningAgent;
  let auditDir: string;
  const log = captureLogger();

  beforeAll(async () => {
    sim = await startSim();
    auditDir = mkdtempSync(join(tmpdir(), 'rxsign-fuzz-'));
    const config = {
      ...loadConfig({
        RXSIGN_MODULE: softhsmModule(),
        RXSIGN_TOKEN: 'prescriber',
        RXSIGN_SSB_URL: sim.url,
        RXSIGN_AUDIT_LOG: join(auditDir, 'audit.log'),
        RXSIGN_AUDIT_RESERVE_MB: '1',
        RXSIGN_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN},${UNAPPROVED_ORIGIN}`,
        RXSIGN_APPROVED_ORIGINS: ALLOWED_ORIGIN,
        RXSIGN_APPROVAL_TIMEOUT_MS: '1000',
        RXSIGN_RUNTIME_DIR: join(auditDir, 'run'),
        RXSIGN_POLL_MS: '200',
        XDG_STATE_HOME: auditDir,
      }),
    };
    agent = await startAgent({ config, logger: log.logger, listenPort: 0 });
  });
  afterAll(async () => {
    await agent.close();
    await sim.close();
    rmSync(auditDir, { recursive: true, force: true });
  });

  async function ticketNow(): Promise<string | undefined> {
    try {
      return agent.agent.getTicketNoAuth();
    } catch {
      return undefined;
    }
  }

  /** The agent's key for local programs, once it has one (`callers`: docs/security.md). */
  function apiKey(): string | undefined {
    const key = (agent as unknown as { apiKey?: unknown }).apiKey;
    return typeof key === 'string' ? key : undefined;
  }

  async function check(c: Case): Promise<void> {
    const ticket = await ticketNow();
    const key = apiKey();
    const auth = key !== undefined;
    const t0 = performance.now();
    const a = await send(agent.url, c, key);
    if (process.env.RXSIGN_FUZZ_PROFILE) {
      const k = `${c.path.slice(0, 30)} ${c.host} ${c.origin}`;
      profile.set(k, (profile.get(k) ?? 0) + performance.now() - t0);
    }
    const where = `${c.method || 'route'} ${c.path}${c.query} host=${c.host} origin=${c.origin} credential=${c.credential}`;
    if (a.timedOut) {
      // Only a route documented to wait may take longer than the fuzz gives it.
      expect(mayWait(c), `no answer: ${where}`).toBe(true);
      return;
    }
    expect(a.status, `5xx: ${where}: ${a.body.slice(0, 200)}`).toBeLessThan(500);
    const hostOk = c.host === 'ok' || c.host === 'localhost';
    const foreign = !hostOk || c.origin === 'evil' || c.origin === 'null';
    if (foreign) {
      expect(a.status, `2xx to a foreign Host or Origin: ${where}`).not.toBeLessThan(300);
    }
    if (auth && c.origin === 'none' && c.credential !== 'key' && !OPEN_ROUTES.test(c.path)) {
      expect(a.status, `2xx to a local caller without the key: ${where}`).not.toBeLessThan(300);
    }
    if (PROTECTED.test(c.path) && a.status >= 200 && a.status < 300) {
      expect(allowedCaller(c, auth), `ticket or signature route answered 2xx: ${where}`).toBe(true);
      granted.set(c.path, (granted.get(c.path) ?? 0) + 1);
    }
    if (ticket !== undefined && a.body.includes(ticket)) {
      expect(
        allowedCaller(c, auth) && /^\/ticket-api\/get/.test(c.path),
        `ticket leaked: ${where}`,
      ).toBe(true);
      expect(a.status).toBe(200);
    }
    if (
      !DOCUMENTATION.test(c.path) &&
      (a.body.includes('"signature"') || a.body.includes('"cms"') || a.body.includes('"assertion"'))
    ) {
      expect(allowedCaller(c, auth), `signature to a caller that is not allowed: ${where}`).toBe(
        true,
      );
    }
  }

  test(`${RUNS} random requests, half with no session and half logged in: no 5xx, nothing for a caller that is not allowed`, async () => {
    await fc.assert(fc.asyncProperty(caseArb, check), {
      numRuns: Math.ceil(RUNS / 2),
      seed: Number(process.env.RXSIGN_FUZZ_SEED ?? Date.now() % 2 ** 31),
    });
    // Logged in (the prescriber's one role is selected): tickets and signatures exist now.
    await agent.agent.login(card.pin);
    // A case may log the user out (logout, destroyTicket, getNewTicket): log in again before the next one,
    // so that this half keeps testing with a live session.
    const relogin = async (): Promise<void> => {
      if (agent.agent.status().state !== 'active') {
        await agent.agent.login(card.pin, { from: 'page' }).catch(() => undefined);
      }
    };
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        await relogin();
        await check(c);
      }),
      { numRuns: Math.floor(RUNS / 2) },
    );
    // Still alive and answering.
    const status = await send(
      agent.url,
      {
        method: 'GET',
        path: '/ticket-api/status',
        query: '',
        host: 'ok',
        origin: 'none',
        credential: 'key',
        contentType: undefined,
        encoding: 'none',
        pin: undefined,
        authorization: undefined,
        body: undefined,
      },
      apiKey(),
    );
    expect(status.status).toBe(200);
    if (process.env.RXSIGN_FUZZ_PROFILE) {
      process.stderr.write(`granted: ${JSON.stringify([...granted])}\n`);
    }
    if (RUNS >= 1000) {
      // Not vacuous: allowed callers did get tickets in the logged-in half.
      expect([...granted.keys()].some((p) => p.startsWith('/ticket-api/get'))).toBe(true);
    }
    expect(log.lines.join('')).not.toContain(card.pin === '' ? '\u0000' : `"${card.pin}"`);
  }, 600_000);
});
