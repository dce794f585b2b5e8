// A web prescribing page in a real browser (Debian chromium driven by playwright-core): on an allowlisted
// origin it asks the agent for a signature, the user allows it on the agent page, and the page reads the
// signature (CORS works). The same page on an origin that is not allowlisted reads nothing and asks no one.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { agentEnv, asCli } from '../../helpers/agent-env.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

const CHROMIUM = '/usr/bin/chromium';

/** The web application's page: asks the agent for a CMS signature and shows what it could read. */
function webApp(agentUrl: () => string): Server {
  return createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><meta charset="utf-8"><title>web prescribing</title><body>
<script>
fetch(${JSON.stringify(agentUrl())} + '/api/v1/sign/cms', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ content: btoa('prescription 1') }),
}).then(async (r) => {
  const j = await r.json();
  document.body.dataset.result = r.ok ? 'signed:' + j.format + ':' + j.cms.length : 'refused:' + j.code;
}).catch((e) => { document.body.dataset.result = 'unreadable:' + e.name; });
</script></body>`);
  });
}

async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.skipIf(!existsSync(CHROMIUM))(
  'a web page on an allowlisted origin, in Chromium (skipped: /usr/bin/chromium not installed)',
  () => {
    let sim: RunningSpineSim;
    let agent: RunningAgent;
    let browser: Browser;
    const allowedApp = webApp(() => agent.url);
    const otherApp = webApp(() => agent.url);
    let allowedOrigin: string;
    let otherOrigin: string;
    const card = testCard('prescriber');

    beforeAll(async () => {
      sim = await startSim();
      allowedOrigin = await listenOn(allowedApp);
      otherOrigin = await listenOn(otherApp);
      agent = await startAgent({
        config: loadConfig({
          RXSIGN_MODULE: softhsmModule(),
          RXSIGN_TOKEN: 'prescriber',
          RXSIGN_SSB_URL: sim.url,
          RXSIGN_ALLOWED_ORIGINS: allowedOrigin,
          ...agentEnv(),
        }),
        logger: captureLogger().logger,
        listenPort: 0,
      });
      await asCli(agent).post('/api/v1/login').send({ pin: card.pin }).expect(200);
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await agent?.close();
      await sim?.close();
      allowedApp.close();
      otherApp.close();
    });

    test('allowlisted: the user allows once on the agent page and the web page reads the signature; another origin reads nothing', async () => {
      const context = await browser.newContext();
      const web = await context.newPage();
      await web.goto(`${allowedOrigin}/`);
      const agentPage = await context.newPage();
      await agentPage.goto(agent.pageUrl);
      expect(new URL(agentPage.url()).hash).toBe(''); // the secret leaves the address bar
      const ask = agentPage.locator('#pending li');
      await ask.waitFor();
      expect(await ask.locator('.question').textContent()).toBe(
        `${allowedOrigin} wants to sign 1 document as ${card.name}, Nurse Access Role at THE DENSHAM SURGERY`,
      );
      expect(await ask.locator('button').allTextContents()).toEqual([
        'Allow once',
        'Always allow',
        'Deny',
      ]);
      await ask.locator('button[data-choice="once"]').click();
      await web.waitForSelector('body[data-result]', { state: 'attached' });
      expect(await web.getAttribute('body', 'data-result')).toMatch(/^signed:der:\d{3,}$/);
      await agentPage.waitForSelector('#approvals', { state: 'hidden' });

      const other = await context.newPage();
      await other.goto(`${otherOrigin}/`);
      await other.waitForSelector('body[data-result]', { state: 'attached' });
      expect(await other.getAttribute('body', 'data-result')).toBe('unreadable:TypeError');
      expect(agent.approvals.list().pending).toEqual([]);
      await context.close();
    }, 120_000);

    test('Always allow appears under the answered origins and can be revoked on the page', async () => {
      const context = await browser.newContext();
      const agentPage = await context.newPage();
      await agentPage.goto(agent.pageUrl);
      const web = await context.newPage();
      await web.goto(`${allowedOrigin}/`);
      const ask = agentPage.locator('#pending li');
      await ask.waitFor();
      await ask.locator('button[data-choice="always"]').click();
      await web.waitForSelector('body[data-result]', { state: 'attached' });
      expect(await web.getAttribute('body', 'data-result')).toMatch(/^signed:/);
      const row = agentPage.locator(`#origins li[data-origin="${allowedOrigin}"]`);
      await row.waitFor();
      expect(await row.textContent()).toContain('always allowed');
      // a second request is not asked
      const again = await context.newPage();
      await again.goto(`${allowedOrigin}/`);
      await again.waitForSelector('body[data-result]', { state: 'attached' });
      expect(await again.getAttribute('body', 'data-result')).toMatch(/^signed:/);
      await row.locator('button.revoke').click();
      await row.waitFor({ state: 'detached' });
      expect(agent.approvals.list().origins).toEqual([]);
      await context.close();
    }, 120_000);

    test('the agent page without its link shows how to open it and nothing else', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${agent.url}/`);
      await page.waitForSelector('#unpaired', { state: 'visible' });
      expect(await page.isVisible('#login')).toBe(false);
      expect(await page.textContent('#unpaired')).toContain('rxsign open');
      await context.close();
    }, 60_000);
  },
);
