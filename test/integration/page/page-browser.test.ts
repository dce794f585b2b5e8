// The agent page end to end (docs/page.md), in Debian's chromium driven by playwright-core, against the agent
// with a SoftHSM card and the Spine simulator: log in with the PIN, pick a role, approve a signing request
// posted by a page on an allowlisted origin and see it in the history, deny one and see the caller's
// refusal, revoke an origin, verify a good and a tampered file, pull the card and see the page change; an
// axe-core accessibility check finds no serious or critical violation. Screenshots go to
// .rxsign-test/screenshots/ for a person to look at.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import { describePrescription, prepareBundle } from '../../../src/prescription/fhir/index.js';
import { privateSofthsmCopy, softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SHOTS = join(ROOT, '.rxsign-test', 'screenshots');
const FHIR_BUNDLE = join(
  ROOT,
  'test',
  'prescription',
  'fhir',
  'fixtures',
  'prescription-order.json',
);
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** A prescribing application's page on its own origin: it asks the agent for a CMS signature. */
function caller(agentUrl: string): string {
  return `<!doctype html><html lang="en"><title>Prescribing app</title><body><h1>Prescribing app</h1>
<script>
window.signPrescription = async (digest, bundle) => {
  const r = await fetch('${agentUrl}/api/v1/sign/eps', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payloads: [{ id: 'rx-1', payload: digest, bundle }], algorithm: 'RS256' }),
  });
  return { status: r.status, body: await r.json() };
};
window.signMixed = async (digest, bundle, bare) => {
  const r = await fetch('${agentUrl}/api/v1/sign/eps', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      payloads: [{ id: 'rx-1', payload: digest, bundle }, { id: 'bare-2', payload: bare }, { id: 'bare-3', payload: bare }],
      algorithm: 'RS256',
    }),
  });
  return { status: r.status, body: await r.json() };
};
window.signDocument = async (text) => {
  const r = await fetch('${agentUrl}/api/v1/sign/cms', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: btoa(text) }),
  });
  return { status: r.status, body: await r.json() };
};
</script></body></html>`;
}

async function axeViolations(page: Page): Promise<{ id: string; impact: string; nodes: number }[]> {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
      }
    ).axe;
    const r = await axe.run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
}

interface Scene {
  readonly running: RunningAgent;
  readonly agentPage: Page;
  readonly appPage: Page;
  readonly appOrigin: string;
  close(): Promise<void>;
}

/**
 * The Spine simulator on a private SoftHSM copy, a prescribing app's page on its own (allowlisted) origin,
 * the agent with `env` on top of the common settings, and Chromium with the agent page and the app page open.
 */
async function startScene(
  copy: ReturnType<typeof privateSofthsmCopy>,
  label: string,
  env: Record<string, string>,
  contextOptions: { bypassCSP?: boolean } = {},
): Promise<Scene> {
  process.env.SOFTHSM2_CONF = copy.conf;
  const sim = await startSim({ dir: copy.dir });
  let agentUrl = '';
  const app = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(caller(agentUrl));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  const appOrigin = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  const tmp = mkdtempSync(join(tmpdir(), 'rxsign-page-'));
  const running = await startAgent({
    config: loadConfig({
      RXSIGN_MODULE: softhsmModule(),
      RXSIGN_TOKEN: label,
      RXSIGN_SSB_URL: sim.url,
      RXSIGN_POLL_MS: '100',
      RXSIGN_AUDIT_LOG: join(tmp, 'audit.log'),
      RXSIGN_RUNTIME_DIR: join(tmp, 'run'),
      RXSIGN_STATE_DIR: join(tmp, 'state'),
      RXSIGN_ALLOWED_ORIGINS: appOrigin,
      SOFTHSM2_CONF: copy.conf,
      ...env,
    }),
    logger: captureLogger().logger,
    listenPort: 0,
  });
  agentUrl = running.url;
  const browser = await launchChromium();
  const context = await browser.newContext(contextOptions);
  const agentPage = await context.newPage();
  const appPage = await context.newPage();
  await appPage.goto(appOrigin);
  await agentPage.goto(running.pageUrl);
  return {
    running,
    agentPage,
    appPage,
    appOrigin,
    close: async () => {
      await browser.close();
      await running.close();
      await sim.close();
      await new Promise((r) => app.close(r));
      process.env.SOFTHSM2_CONF = `${process.env.RXSIGN_TEST_SOFTHSM_DIR ?? ''}/softhsm2.conf`;
      copy.cleanup();
    },
  };
}

describe.skipIf(!existsSync(CHROMIUM))(
  'the agent page in Chromium (skipped: /usr/bin/chromium not installed)',
  () => {
    const copy = privateSofthsmCopy();
    const card = testCard('multi-role', copy.dir);
    let scene: Scene | undefined;
    let running: RunningAgent;
    let agentPage: Page;
    let appPage: Page;
    let appOrigin: string;
    let shot = 0;
    const snap = async (name: string): Promise<void> => {
      shot += 1;
      await agentPage.screenshot({
        path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`),
        fullPage: true,
      });
    };

    /**
     * Denies the waiting `request` on the agent page, checks the caller was refused, then forgets the
     * remembered denial so that the next test starts from no remembered answer.
     */
    const denyThenForget = async (
      request: Locator,
      asked: Promise<{ status: number }>,
    ): Promise<void> => {
      await request.getByRole('button', { name: 'Deny' }).click();
      expect((await asked).status).toBe(403);
      const remembered = agentPage.locator(`#origins li[data-origin="${appOrigin}"]`);
      await expect.poll(() => remembered.count()).toBe(1);
      await remembered.getByRole('button').click();
      await expect.poll(() => remembered.count()).toBe(0);
    };

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      // bypassCSP only so that the test can inject axe-core; the page itself runs under its own CSP.
      scene = await startScene(
        copy,
        card.label,
        {
          RXSIGN_TRUST_DIR: join(copy.dir, 'pki', 'ca'),
          RXSIGN_CRL_DIR: join(copy.dir, 'pki', 'crl'),
        },
        { bypassCSP: true },
      );
      ({ running, agentPage, appPage, appOrigin } = scene);
    }, 120_000);

    afterAll(async () => {
      await scene?.close();
    });

    test('the card is seen; the page passes axe-core with no serious or critical violation', async () => {
      await expect
        .poll(() => agentPage.locator('#state').getAttribute('data-state'))
        .toBe('card-present');
      await expect.poll(() => agentPage.locator('#live').textContent()).toMatch(/Connected/);
      const violations = await axeViolations(agentPage);
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual(
        [],
      );
      await snap('card-present');
    });

    test('log in with the PIN typed on the page, then choose one of several roles', async () => {
      await agentPage.getByLabel('Smartcard PIN').fill(card.pin);
      await agentPage.getByRole('button', { name: 'Log in' }).click();
      await expect
        .poll(() => agentPage.locator('#state').getAttribute('data-state'))
        .toBe('role-required');
      const options = await agentPage.locator('#roleId option').count();
      expect(options).toBeGreaterThan(1);
      await snap('choose-role');
      await agentPage.locator('#roleId').selectOption({ index: 1 });
      await agentPage.getByRole('button', { name: 'Use this role' }).click();
      await expect
        .poll(() => agentPage.locator('#state').getAttribute('data-state'))
        .toBe('active');
      await expect.poll(() => agentPage.locator('#selected-role').textContent()).toMatch(/ at /);
      const violations = await axeViolations(agentPage);
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual(
        [],
      );
      await snap('logged-in');
    });

    test('a web application asks to sign: approve it on the page, it reads the signature, the history shows it', async () => {
      const pending = appPage.evaluate(() =>
        (
          window as unknown as { signDocument(t: string): Promise<{ status: number }> }
        ).signDocument('approved document'),
      );
      const request = agentPage.locator(`#pending li[data-origin="${appOrigin}"]`);
      await expect.poll(() => request.count()).toBe(1);
      await expect.poll(() => request.locator('.question').textContent()).toContain(appOrigin);
      await snap('approval-pending');
      await request.getByRole('button', { name: 'Allow once' }).click();
      const answer = await pending;
      expect(answer.status).toBe(200);
      const row = agentPage.locator('#records tr', { hasText: appOrigin });
      await expect.poll(() => row.count()).toBeGreaterThan(0);
      await expect.poll(() => row.first().textContent()).toMatch(/signed/);
      await expect.poll(() => agentPage.locator('#chain').textContent()).toMatch(/intact/);
      await snap('history');
    });

    test('a prescription sent with its FHIR Bundle: the approval shows the prescription id, patient and items', async () => {
      const bundle = readFileSync(FHIR_BUNDLE, 'utf8');
      const summary = describePrescription(bundle);
      const digest = prepareBundle(bundle, { timestamp: '2026-12-03T10:00:00+00:00' }).digest;
      const asked = appPage.evaluate(
        ([d, b]) =>
          (
            window as unknown as {
              signPrescription(d: string, b: string): Promise<{ status: number }>;
            }
          ).signPrescription(d, b),
        [digest, bundle] as const,
      );
      const request = agentPage.locator(`#pending li[data-origin="${appOrigin}"]`);
      await expect.poll(() => request.count()).toBe(1);
      const text = (await request.locator('.details').textContent()) ?? '';
      expect(text).toContain(summary.prescriptionId);
      expect(text).toContain(summary.patient.name);
      expect(text).toContain(summary.items[0]?.name ?? '(no item)');
      await snap('approval-prescription');
      await denyThenForget(request, asked);
    });

    test('a batch mixing a Bundle with bare digests: the approval names every payload, not only the prescription', async () => {
      // Before: the ids were shown only when no payload had a Bundle, so the two bare digests went unmentioned.
      const bundle = readFileSync(FHIR_BUNDLE, 'utf8');
      const digest = prepareBundle(bundle, { timestamp: '2026-12-03T10:00:00+00:00' }).digest;
      const asked = appPage.evaluate(
        ([d, b]) =>
          (
            window as unknown as {
              signMixed(d: string, b: string, bare: string): Promise<{ status: number }>;
            }
          ).signMixed(d, b, d),
        [digest, bundle] as const,
      );
      const request = agentPage.locator(`#pending li[data-origin="${appOrigin}"]`);
      await expect.poll(() => request.count()).toBe(1);
      const text = (await request.locator('.details').textContent()) ?? '';
      expect(text).toContain(describePrescription(bundle).prescriptionId);
      expect(text).toContain('2 of 3 without a prescription to show');
      expect(text).toMatch(/Documents: rx-1, bare-2, bare-3/);
      await denyThenForget(request, asked);
    });

    test('deny a request: the caller is refused; Always allow is remembered and can be revoked', async () => {
      const denied = appPage.evaluate(() =>
        (
          window as unknown as {
            signDocument(t: string): Promise<{ status: number; body: { code?: string } }>;
          }
        ).signDocument('denied'),
      );
      const request = agentPage.locator(`#pending li[data-origin="${appOrigin}"]`);
      await expect.poll(() => request.count()).toBe(1);
      await request.getByRole('button', { name: 'Deny' }).click();
      const refusal = await denied;
      expect(refusal.status).toBe(403);
      expect(refusal.body.code).toMatch(/^ERR_/);
      // A denial is remembered: forget it on the page, then allow always.
      const remembered = agentPage.locator(`#origins li[data-origin="${appOrigin}"]`);
      await expect.poll(() => remembered.count()).toBe(1);
      await remembered.getByRole('button').click();
      await expect.poll(() => remembered.count()).toBe(0);
      const always = appPage.evaluate(() =>
        (
          window as unknown as { signDocument(t: string): Promise<{ status: number }> }
        ).signDocument('always'),
      );
      await expect.poll(() => request.count()).toBe(1);
      await request.getByRole('button', { name: 'Always allow' }).click();
      expect((await always).status).toBe(200);
      await expect.poll(() => remembered.textContent()).toMatch(/always allowed/);
      await snap('origin-always');
      await remembered.getByRole('button', { name: `Revoke ${appOrigin}` }).click();
      await expect.poll(() => remembered.count()).toBe(0);
    });

    test('verify a good and a tampered file in the verify panel', async () => {
      const direct = await fetch(`${running.url}/api/v1/sign/cms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${running.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: Buffer.from('a document to verify').toString('base64') }),
      });
      expect(direct.status).toBe(200);
      const cms = Buffer.from(((await direct.json()) as { cms: string }).cms, 'base64');
      const dir = mkdtempSync(join(tmpdir(), 'rxsign-verify-'));
      writeFileSync(join(dir, 'good.p7m'), cms);
      const tampered = Buffer.from(cms);
      const at = tampered.indexOf(Buffer.from('a document to verify'));
      expect(at).toBeGreaterThan(0);
      tampered[at] = 'A'.charCodeAt(0);
      writeFileSync(join(dir, 'tampered.p7m'), tampered);
      await agentPage.locator('#doc').setInputFiles(join(dir, 'good.p7m'));
      await agentPage.getByRole('button', { name: 'Verify' }).click();
      await expect
        .poll(() => agentPage.locator('#indication').textContent())
        .toMatch(/^TOTAL_PASSED|^PASSED/);
      await snap('verify-good');
      await agentPage.locator('#doc').setInputFiles(join(dir, 'tampered.p7m'));
      await agentPage.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => agentPage.locator('#indication').textContent()).toMatch(/FAILED/);
      await snap('verify-tampered');
    });

    test('pull the card: the page shows it at once (the module is re-initialised when it returns)', async () => {
      const folder =
        readdirSync(join(copy.dir, 'tokens')).find((d) =>
          d.replace(/-/g, '').endsWith(card.serial),
        ) ?? '';
      renameSync(join(copy.dir, 'tokens', folder), join(copy.dir, 'parked'));
      await expect
        .poll(() => agentPage.locator('#state').getAttribute('data-state'), {
          timeout: 5_000,
          interval: 50,
        })
        .toBe('no-card');
      await snap('card-removed');
      renameSync(join(copy.dir, 'parked'), join(copy.dir, 'tokens', folder));
      await expect
        .poll(() => agentPage.locator('#state').getAttribute('data-state'), { timeout: 15_000 })
        .toBe('card-present');
    });
  },
);

describe.skipIf(!existsSync(CHROMIUM))(
  'the agent page with the per-signature PIN policy (skipped: /usr/bin/chromium not installed)',
  () => {
    const copy = privateSofthsmCopy();
    const card = testCard('prescriber', copy.dir);
    let scene: Scene | undefined;
    let agentPage: Page;
    let appPage: Page;
    let appOrigin: string;

    beforeAll(async () => {
      scene = await startScene(copy, card.label, { RXSIGN_PIN_POLICY: 'per-signature' });
      ({ agentPage, appPage, appOrigin } = scene);
      await agentPage.getByLabel('Smartcard PIN').fill(card.pin);
      await agentPage.getByRole('button', { name: 'Log in' }).click();
      await agentPage.locator('#state[data-state="active"]').waitFor({ timeout: 15_000 });
    }, 120_000);

    afterAll(async () => {
      await scene?.close();
    });

    test('the request asks for the card PIN on the page; Allow without it is refused, with it the app gets its signature', async () => {
      const pending = appPage.evaluate(() =>
        (
          window as unknown as { signDocument(t: string): Promise<{ status: number }> }
        ).signDocument('signed with the PIN typed on the agent page'),
      );
      const request = agentPage.locator(`#pending li[data-origin="${appOrigin}"]`);
      await expect.poll(() => request.count()).toBe(1);
      const pin = request.getByLabel('Card PIN for this signature');
      await request.getByRole('button', { name: 'Allow once' }).click();
      await expect
        .poll(() => agentPage.locator('#message').textContent())
        .toContain('ERR_APPROVAL_PIN_REQUIRED');
      await pin.fill(card.pin);
      await request.getByRole('button', { name: 'Allow once' }).click();
      expect((await pending).status).toBe(200);
      await expect.poll(() => request.count()).toBe(0);
    });
  },
);
