// The running agent (SoftHSM card + Spine simulator) against its OpenAPI document: every mounted route is
// documented, the served document is docs/openapi.json, and every real answer — successes and problems —
// validates against it. The event stream reports the login, the signature and the logout (ids and hashes,
// never the ticket or the PIN).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import { buildSignedInfo } from '../../../src/prescription/index.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { documentedRoutes, mountedRoutes, responseChecker } from '../../helpers/openapi.js';
import { pkiPaths, softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

type Json = Record<string, unknown>;

describe('the running agent and its OpenAPI document', () => {
  let sim: RunningSpineSim;
  let server: RunningAgent;
  let check: ReturnType<typeof responseChecker>;
  const log = captureLogger();
  const card = testCard('prescriber');
  const events: string[] = [];
  let stream: ReadableStream<Uint8Array> | undefined;

  /** Sends a request and validates the answer against the document; returns it. */
  async function call(
    method: 'get' | 'post',
    path: string,
    body?: unknown,
    type?: string,
  ): Promise<request.Response> {
    let req = request(server.url)[method](path).set('authorization', `Bearer ${server.apiKey}`);
    if (type) {
      req = req.set('content-type', type);
    }
    const res = await (body === undefined ? req : req.send(body as object));
    const contentType = String(res.headers['content-type'] ?? '');
    const value: unknown = /json/.test(contentType) ? res.body : res.text;
    expect(check(method, path, res.status, contentType, value), `${method} ${path}`).toEqual([]);
    return res;
  }

  beforeAll(async () => {
    sim = await startSim();
    const pki = pkiPaths();
    const config = loadConfig({
      RXSIGN_MODULE: softhsmModule(),
      RXSIGN_TOKEN: 'prescriber',
      RXSIGN_SSB_URL: sim.url,
      RXSIGN_TRUST_DIR: pki.caDir,
      RXSIGN_CRL_DIR: pki.crlDir,
      RXSIGN_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'rxsign-audit-')), 'audit.log'),
      RXSIGN_POLL_MS: '200',
    });
    server = await startAgent({ config, logger: log.logger, listenPort: 0 });
    const doc = (
      await request(server.url)
        .get('/api/v1/openapi.json')
        .set('authorization', `Bearer ${server.apiKey}`)
    ).body as Json;
    check = responseChecker(doc);
  });
  afterAll(async () => {
    await stream?.cancel().catch(() => undefined);
    await server?.close();
    await sim?.close();
  });

  test('every mounted route is documented, and the served document is docs/openapi.json', async () => {
    const doc = (
      await request(server.url)
        .get('/api/v1/openapi.json')
        .set('authorization', `Bearer ${server.apiKey}`)
    ).body as Json;
    expect(mountedRoutes(server.app)).toEqual(documentedRoutes(doc));
    const file = JSON.parse(
      readFileSync(resolve(import.meta.dirname, '..', '..', '..', 'docs', 'openapi.json'), 'utf8'),
    ) as Json;
    expect(doc).toEqual(file);
  });

  test('real answers validate: status, page, errors list, Ticket API problems, login, signing, verification, logout', async () => {
    const res = await fetch(`${server.url}/api/v1/events`, {
      headers: { authorization: `Bearer ${server.apiKey}` },
    });
    stream = res.body as ReadableStream<Uint8Array>;
    const reader = stream.getReader();
    const dec = new TextDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) {
          return;
        }
        events.push(dec.decode(value));
      }
    })();

    const status = await call('get', '/api/v1/status');
    expect(status.body).toMatchObject({
      agent: { name: 'rxsign' },
      card: { present: true, label: 'prescriber' },
      session: { state: 'card-present' },
      broker: { reachable: null },
      signing: true,
    });
    await call('get', '/');
    expect((await call('get', '/errors')).text).toContain('<a id="ERR_TICKET_NOT_AVAILABLE"></a>');
    const none = await call('post', '/ticket-api/getTicketNoAuth', {});
    expect(none.body).toMatchObject({
      type: '/errors#ERR_TICKET_NOT_AVAILABLE',
      ticketApi: { name: 'TICKET_NOT_AVAILABLE', value: '0x80100009' },
    });
    await call('post', '/api/v1/login', { pin: 42 });
    const login = await call('post', '/api/v1/login', { pin: card.pin });
    expect(login.status).toBe(200);
    await call('get', '/ticket-api/status');
    const ticket = await call('post', '/ticket-api/getTicket', { timeoutMs: 5000 });
    expect(ticket.status).toBe(200);
    await call('post', '/ticket-api/getTicketNoAuth', {});
    const after = await call('get', '/api/v1/status');
    expect(after.body).toMatchObject({
      session: { state: 'active', uid: card.uid },
      broker: { reachable: true },
    });

    const content = Buffer.from('a document to sign');
    const cms = await call('post', '/api/v1/sign/cms', { content: content.toString('base64') });
    expect(cms.status).toBe(200);
    const signedInfo = buildSignedInfo(new TextEncoder().encode('<Fragment>x</Fragment>'), 'RS256');
    const eps = await call('post', '/api/v1/sign/eps', {
      payloads: [
        { id: 'rx-1', payload: Buffer.from(signedInfo).toString('base64') },
        { id: 'rx-2', payload: 'bm90IGEgc2lnbmVkIGluZm8=' },
      ],
      algorithm: 'RS256',
    });
    expect(eps.status).toBe(200);
    expect(eps.body.signatures).toHaveLength(1);
    await call('post', '/api/v1/sign/hl7', 'not xml at all', 'text/plain');
    await call('post', '/api/v1/sign/cms', { content: '***' });

    const report = await call(
      'post',
      '/api/v1/verify',
      Buffer.from(cms.body.cms as string, 'base64'),
      'application/pkcs7-mime',
    );
    expect(report.body.indication).toBeDefined();
    await call('post', '/api/v1/verify/batch', {
      documents: [{ id: 'd1', content: cms.body.cms as string }],
    });
    await call('post', '/api/v1/role', { roleId: '1' });
    await call('post', '/api/v1/logout', {});
    await call('post', '/ticket-api/destroyTicket', {});
    await call('post', '/ticket-api/getNewTicket', { timeoutMs: 0 });

    const text = () => events.join('');
    for (let i = 0; i < 100 && !text().includes('event: session.ended'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const all = text();
    expect(all).toContain('event: session.login');
    expect(all).toContain(`"uid":"${card.uid}"`);
    expect(all).toContain('event: signature.made');
    expect(all).toContain(createHash('sha256').update(content).digest('hex'));
    expect(all).toContain('"documentIds":["rx-1"]');
    expect(all).toContain('event: session.ended');
    expect(all).not.toContain(ticket.body.ticket as string);
    expect(all).not.toContain(card.pin);
    expect(all).not.toContain(cms.body.cms as string);
  });
});
