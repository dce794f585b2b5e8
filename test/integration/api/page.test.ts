// The agent's page in a real browser (Debian chromium driven by playwright-core; never a downloaded browser):
// card present → PIN → role choice → logged in → log out.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent.js';
import { loadConfig } from '../../../src/config.js';
import type { RunningSpineSim } from '../../../src/spine-sim/server.js';
import { agentEnv } from '../../helpers/agent-env.js';
import { softhsmModule, testCard } from '../../helpers/softhsm.js';
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
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await sim?.close();
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
  },
);
