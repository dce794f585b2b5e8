// The agent's page in a real browser (Debian chromium driven by playwright-core; never a downloaded browser):
// card present → PIN → role choice → logged in → log out.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.js';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import type { RunningSpineSim } from '../../../src/spine-sim/index.js';
import { agentEnv } from '../../helpers/agent-env.js';
import { clearPinCountLow, softhsmModule, testCard } from '../../helpers/softhsm.js';
import { captureLogger, startSim } from '../auth/helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))(
  'the agent page in Chromium (skipped: /usr/bin/chromium not installed)',
  () => {
    let sim: RunningSpineSim;
    let server: RunningAgent;
    let browser: Browser;

    beforeAll(async () => {
      sim = await startSim();
      const config = loadConfig({
        RXSIGN_MODULE: softhsmModule(),
        RXSIGN_TOKEN: 'multi-role',
        RXSIGN_SSB_URL: sim.url,
        ...agentEnv(),
      });
      server = await startAgent({ config, logger: captureLogger().logger, listenPort: 0 });
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await sim?.close();
      await clearPinCountLow('multi-role');
    });

    beforeEach(async () => {
      // Each test starts with the card present and no session, whatever the one before left.
      await server.agent.destroyTicket();
    });

    test('log in with the PIN, choose a role, see the session, log out', async () => {
      const page = await browser.newPage();
      await page.goto(server.pageUrl);
      await page.waitForSelector('#state[data-state="card-present"]');
      await page.fill('#pin', testCard('multi-role').pin);
      await page.click('#login button');
      await page.waitForSelector('#state[data-state="role-required"]');
      expect(await page.locator('#roleId option').count()).toBe(3);
      await page.selectOption('#roleId', '555000000202');
      await page.click('#role button');
      await page.waitForSelector('#state[data-state="active"]');
      expect(await page.textContent('#user')).toContain('Multi Role');
      expect(await page.textContent('#selected-role')).toContain(
        'Medical Practitioner Access Role',
      );
      expect(await page.inputValue('#pin')).toBe(''); // the PIN does not stay in the page
      await page.screenshot({ path: join(tmpdir(), 'rxsign-agent-page.png') });
      await page.click('#logout button');
      await page.waitForSelector('#state[data-state="card-present"]');
    });

    test('a wrong PIN shows the card error and keeps the login form', async () => {
      const page = await browser.newPage();
      await page.goto(server.pageUrl);
      await page.waitForSelector('#state[data-state="card-present"]');
      await page.fill('#pin', '00000000');
      await page.click('#login button');
      await page.waitForSelector('#message.err');
      expect(await page.textContent('#message')).toMatch(/PIN is incorrect/);
      expect(await page.isVisible('#login')).toBe(true);
    });

    test('few tries left (SoftHSM sets CKF_USER_PIN_COUNT_LOW after a wrong PIN): the page warns, and logs in only once the user ticks the warning', async () => {
      const page = await browser.newPage();
      await page.goto(server.pageUrl);
      await page.waitForSelector('#state[data-state="card-present"]');
      // The wrong PIN of the test before (or this one) has left the card reporting few tries left.
      await page.fill('#pin', '00000000');
      await page.click('#login button');
      await page.waitForSelector('#message.err');
      await page.waitForSelector('#ack-label', { state: 'visible' });
      expect(await page.textContent('#pin-warning')).toMatch(/few PIN tries left/);
      const status = (await (
        await fetch(`${server.url}/ticket-api/status`, {
          headers: { authorization: `Bearer ${server.apiKey}` },
        })
      ).json()) as {
        pin: { triesLow: boolean; apiLoginBlocked: boolean };
      };
      expect(status.pin).toMatchObject({ triesLow: true, apiLoginBlocked: true });
      // A local program may not try now: only the page, after the warning.
      const cli = await fetch(`${server.url}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
        body: JSON.stringify({ pin: testCard('multi-role').pin }),
      });
      expect(((await cli.json()) as { code: string }).code).toMatch(
        /^ERR_PIN_(PAGE_ONLY|BACKOFF)$/,
      );
      // Wait out the back-off the page shows, then try the right PIN without ticking the box.
      await page.waitForFunction(
        () => !/Wait/.test(document.getElementById('pin-warning')?.textContent ?? ''),
      );
      await page.fill('#pin', testCard('multi-role').pin);
      await page.click('#login button');
      await page.waitForFunction(() =>
        /ERR_PIN_ACK_REQUIRED/.test(document.getElementById('message')?.textContent ?? ''),
      );
      expect(await page.isVisible('#login')).toBe(true);
      await page.check('#ack');
      await page.fill('#pin', testCard('multi-role').pin);
      await page.click('#login button');
      await page.waitForSelector('#state[data-state="role-required"]');
      await page.click('#logout button');
      await page.waitForSelector('#state[data-state="card-present"]');
    });
  },
);
