// The Credential Management drop-in end to end (docs/cm.md): the demo page in examples/cm-page, in Debian's
// chromium, runs the real signalr-no-jquery client from npm and does what NHS's browser library does
// (five-port discovery with credentials, a hub connection with long polling, requestToSign) against the
// agent with the SoftHSM prescriber card and the Spine simulator. Every returned signature is checked with
// openssl against the returned certificate.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { CM_STATUS, type HubResponse } from '../../../src/cm/index.js';
import { loadConfig } from '../../../src/config.js';
import { openTokenPort } from '../../../src/pkcs11/index.js';
import { buildSignedInfo } from '../../../src/prescription/index.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { FaultPort } from '../../helpers/fault-port.js';
import { opensslVerify, withTmp } from '../../helpers/openssl.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const PREPARE = join(ROOT, '..', 'shared', 'vectors', 'eps', 'prepare');

/** Starts examples/cm-page/serve.mjs on a free port; resolves with its origin. */
async function servePage(): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'examples', 'cm-page', 'serve.mjs'), '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((res, rej) => {
    child.stdout?.once('data', (d: Buffer) => res(d.toString().trim()));
    child.once('exit', (code) => rej(new Error(`serve.mjs exited ${String(code)}`)));
  });
  return { origin: new URL(url).origin, child };
}

/** Five free loopback ports, as CM has five. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((res) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const enc = new TextEncoder();
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
/** A `$prepare`-shaped digest: base64 of a SignedInfo over some fragments. */
const digestOf = (text: string): string =>
  b64(buildSignedInfo(enc.encode(`<Fragment>${text}</Fragment>`), 'RS256'));

function checkWithOpenssl(response: HubResponse, payloads: Record<string, string>): void {
  withTmp((dir) => {
    const pem = join(dir, 'signer.pem');
    writeFileSync(
      pem,
      `-----BEGIN CERTIFICATE-----\n${response.certificate.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`,
    );
    const subject = execFileSync('openssl', ['x509', '-in', pem, '-noout', '-subject']).toString();
    expect(subject).toMatch(/CN\s*=\s*\d{12}/);
    for (const s of response.signatures) {
      const payload = payloads[s.id];
      expect(payload, `a signature for an id that was asked: ${s.id}`).toBeDefined();
      expect(
        opensslVerify(
          pem,
          Buffer.from(payload ?? '', 'base64'),
          Buffer.from(s.signature, 'base64'),
          'sha256',
        ),
      ).toBe(true);
    }
  });
}

describe.skipIf(!existsSync(CHROMIUM))(
  'NHS Credential Management drop-in in Chromium (skipped: /usr/bin/chromium not installed)',
  () => {
    let sim: RunningSpineSim;
    let running: RunningAgent;
    let browser: Browser;
    let page: Page;
    let allowed: { origin: string; child: ChildProcess };
    let foreign: { origin: string; child: ChildProcess };
    let ports: number[];
    let blocker: Server;
    let decision: 'always' | 'deny' | 'once' | 'none' = 'always';
    let fault: FaultPort;
    const asked: string[] = [];
    const card = testCard('prescriber');

    /** What NHS's library does, in the demo page; resolves with the HubResponse or the thrown error. */
    async function sign(
      p: Page,
      payloads: Record<string, string>,
      algorithm = 'RS256',
    ): Promise<{ ok: HubResponse } | { error: string; response?: HubResponse }> {
      return p.evaluate(
        async ({ payloads, algorithm }) => {
          const demo = (
            window as unknown as {
              rxsignCmDemo: { signPrescription(b64: string): Promise<unknown> };
            }
          ).rxsignCmDemo;
          const json = JSON.stringify({
            algorithm,
            requestType: 1,
            version: 1,
            flags: 0,
            payloads: Object.entries(payloads).map(([id, payload]) => ({ id, payload })),
          });
          try {
            return { ok: await demo.signPrescription(btoa(json)) };
          } catch (e) {
            const err = e as { message?: string; name?: string; response?: unknown };
            return {
              error: `${err.name ?? ''}: ${err.message ?? String(e)}`,
              response: err.response,
            };
          }
        },
        { payloads, algorithm },
      ) as Promise<{ ok: HubResponse } | { error: string; response?: HubResponse }>;
    }

    beforeAll(async () => {
      sim = await startSim();
      allowed = await servePage();
      foreign = await servePage();
      ports = await freePorts(5);
      // Another program holds CM's first port: discovery must still find the agent on a later one.
      blocker = createServer((_req, res) => res.writeHead(404).end());
      await new Promise<void>((r) => blocker.listen(ports[0], '127.0.0.1', () => r()));
      const tmp = mkdtempSync(join(tmpdir(), 'rxsign-cm-'));
      const config = loadConfig({
        RXSIGN_MODULE: softhsmModule(),
        RXSIGN_TOKEN: 'prescriber',
        RXSIGN_SSB_URL: sim.url,
        RXSIGN_AUDIT_LOG: join(tmp, 'audit.log'),
        RXSIGN_RUNTIME_DIR: join(tmp, 'run'),
        RXSIGN_STATE_DIR: join(tmp, 'state'),
        RXSIGN_ALLOWED_ORIGINS: allowed.origin,
        RXSIGN_CM: 'on',
        RXSIGN_CM_PORTS: ports.join(','),
        RXSIGN_POLL_MS: '200',
      });
      // The real SoftHSM port, behind the fault port only to pull the card at the end (SoftHSM cannot).
      fault = new FaultPort(
        await openTokenPort({
          modulePath: config.modulePath,
          pollIntervalMs: config.pollIntervalMs,
          mechanisms: config.mechanisms,
          sessions: config.signSessions,
        }),
      );
      running = await startAgent({
        config,
        logger: captureLogger().logger,
        listenPort: 0,
        tokenPort: fault,
      });
      running.approvals.on('pending', (p: { id: string; question: string }) => {
        asked.push(p.question);
        if (decision !== 'none') {
          running.approvals.answer(p.id, decision);
        }
      });
      await running.agent.login(card.pin);
      browser = await launchChromium();
      page = await browser.newPage();
      await page.goto(`${allowed.origin}/?ports=${ports.join(',')}`);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await running?.close();
      await sim?.close();
      await new Promise((r) => blocker?.close(r));
      allowed?.child.kill();
      foreign?.child.kill();
    });

    test('discovery finds the agent on the first free of the five ports, behind a foreign listener', async () => {
      expect(running.cm?.port).toBe(ports[1]);
      const port = await page.evaluate(() =>
        (
          window as unknown as { rxsignCmDemo: { findPort(): Promise<number> } }
        ).rxsignCmDemo.findPort(),
      );
      expect(port).toBe(ports[1]);
    });

    test('requestToSign: the user approves on the agent, every signature verifies with openssl', async () => {
      decision = 'always';
      const payloads: Record<string, string> = { 'rx-1': digestOf('one'), 'rx-2': digestOf('two') };
      const vector = join(PREPARE, 'paramedic', '1-Prepare-Response-200_OK.json');
      if (existsSync(vector)) {
        // A real `$prepare` digest from EPS's own examples, when the vectors are beside the clone.
        const p = JSON.parse(readFileSync(vector, 'utf8')) as {
          parameter: { name: string; valueString: string }[];
        };
        payloads['rx-eps'] = p.parameter.find((x) => x.name === 'digest')?.valueString ?? '';
      }
      const r = await sign(page, payloads);
      if (!('ok' in r)) {
        throw new Error(r.error);
      }
      expect(r.ok.status_code).toBe(0);
      expect(r.ok.failed_signatures).toEqual([]);
      expect(r.ok.signatures.map((s) => s.id).sort()).toEqual(Object.keys(payloads).sort());
      expect(Date.parse(r.ok.timestamp)).not.toBeNaN();
      checkWithOpenssl(r.ok, payloads);
      expect(asked[0]).toContain(allowed.origin);
      expect(asked[0]).toMatch(/wants to sign \d+ prescriptions/);
    });

    test('a batch with a malformed payload: the good ones signed, the bad one in failed_signatures', async () => {
      const payloads = {
        good: digestOf('good'),
        bad: b64(enc.encode('<SignedInfo>anything</SignedInfo>')),
        junk: 'not base64 at all!',
      };
      const r = await sign(page, payloads);
      if (!('ok' in r)) {
        throw new Error(r.error);
      }
      expect(r.ok.status_code).toBe(0);
      expect(r.ok.signatures.map((s) => s.id)).toEqual(['good']);
      expect(r.ok.failed_signatures.map((f) => f.id).sort()).toEqual(['bad', 'junk']);
      checkWithOpenssl(r.ok, payloads);
    });

    test('eight signings in a row from one page never stall (short polls with L)', async () => {
      for (let i = 0; i < 8; i += 1) {
        const payloads = { [`rx-${i}`]: digestOf(`row ${i}`) };
        const r = await sign(page, payloads);
        if (!('ok' in r)) {
          throw new Error(`signing ${i}: ${r.error}`);
        }
        checkWithOpenssl(r.ok, payloads);
      }
    });

    test('a foreign origin is refused at discovery: the page fails at once, nothing is asked', async () => {
      const other = await browser.newPage();
      await other.goto(`${foreign.origin}/?ports=${ports.join(',')}`);
      const before = asked.length;
      const r = await sign(other, { x: digestOf('foreign') });
      expect('error' in r && r.error).toMatch(/AggregateError/);
      expect(asked.length).toBe(before);
      await other.close();
    });

    test('the user declines: a non-zero status_code, and the library throws its "Error response"', async () => {
      running.approvals.revoke(allowed.origin);
      decision = 'deny';
      const r = await sign(page, { d: digestOf('declined') });
      expect('error' in r && r.error).toMatch(/Error response from Credential Management/);
      expect('error' in r && r.response?.status_code).toBe(CM_STATUS.DECLINED);
      running.approvals.revoke(allowed.origin);
      decision = 'always';
    });

    test('no card session: the hub waits for the login on the agent page, then signs', async () => {
      await running.agent.destroyTicket();
      const pending = sign(page, { w: digestOf('after login') });
      await new Promise((r) => setTimeout(r, 500));
      await running.agent.login(card.pin);
      const r = await pending;
      if (!('ok' in r)) {
        throw new Error(r.error);
      }
      expect(r.ok.signatures).toHaveLength(1);
    });

    test('the card is pulled during signing: a non-zero status_code (no card), then discovery says no card', async () => {
      fault.removeAtNextSign({ label: card.label, serial: card.serial });
      const r = await sign(page, { gone: digestOf('pulled') });
      expect('error' in r && r.error).toMatch(/Error response from Credential Management/);
      expect('error' in r && r.response?.status_code).toBe(CM_STATUS.NO_CARD);
      expect('error' in r && r.response?.signatures).toEqual([]);
      // With no card, the port service answers CM's fault: the library throws "PR30007: …".
      await expect
        .poll(async () => {
          const again = await sign(page, { none: digestOf('no card') });
          return 'error' in again ? again.error : 'signed';
        })
        .toMatch(/PR30007: Request failed due to unknown exception/);
    });
  },
);
