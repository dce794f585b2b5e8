// CIS2 sign-in in a real browser (Debian chromium driven by playwright-core, which gives each launch a fresh
// profile; never a downloaded browser):
// two openid-client applications, the CIS2 simulator's login page asking the agent for the card assertion,
// the PIN typed once on the agent's page, none for the second application, again for prompt=login, and
// back-channel logout when the card session ends.
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testCard } from '../../helpers/softhsm.js';
import { startCis2Rig, type Cis2Rig } from './rig.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))(
  'CIS2 sign-in in Chromium (skipped: /usr/bin/chromium not installed)',
  () => {
    let rig: Cis2Rig;
    let browser: Browser;
    let pinEntries = 0;

    beforeAll(async () => {
      rig = await startCis2Rig({ label: 'prescriber' });
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await rig?.close();
    });

    /** Types the PIN on the agent's own page (the only place a PIN is ever typed). */
    async function pinOnAgentPage(ctx: BrowserContext): Promise<void> {
      const agentPage = await ctx.newPage();
      await agentPage.goto(rig.agent.pageUrl);
      await agentPage.waitForSelector(
        '#state[data-state="card-present"], #state[data-state="active"]',
      );
      if ((await agentPage.getAttribute('#state', 'data-state')) === 'active') {
        await agentPage.click('#logout button');
        await agentPage.waitForSelector('#state[data-state="card-present"]');
      }
      await agentPage.fill('#pin', testCard('prescriber').pin);
      await agentPage.click('#login button');
      pinEntries += 1;
      await agentPage.waitForSelector('#state[data-state="active"]');
      await agentPage.close();
    }

    async function waitSignedIn(page: Page, rpUrl: string): Promise<void> {
      await page.waitForURL((u) => u.href.startsWith(`${rpUrl}/cb?`), { timeout: 15_000 });
      await page.waitForSelector('#signed-in');
    }

    test('first sign-in: the login page asks the agent, the PIN is typed once on the agent page', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const rp = rig.rps[0];
      await page.goto(`${rp?.url}/login`);
      await page.waitForSelector('#card-status[data-code="ERR_CIS2_NO_SESSION"]');
      expect(await page.textContent('#card-status')).toMatch(/log in .*agent page/i);
      expect(await page.getAttribute('#agent-link', 'href')).toBe(`${rig.agent.url}/`);
      expect(await page.locator('input[type="password"]').count()).toBe(0); // no PIN on the CIS2 page
      await pinOnAgentPage(ctx);
      await page.click('#card-retry');
      await waitSignedIn(page, rp?.url ?? '');
      expect(rp?.logins.at(-1)?.claims).toMatchObject({
        amr: ['N3_SMARTCARD'],
        acr: 'AAL3_ANY',
        selected_roleid: '555000000101',
      });
      expect(pinEntries).toBe(1);
      await ctx.close();
    });

    test('a second application in a fresh browser profile signs in with no PIN', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const rp = rig.rps[1];
      await page.goto(`${rp?.url}/login`);
      await waitSignedIn(page, rp?.url ?? '');
      expect(rp?.logins).toHaveLength(1);
      expect(pinEntries).toBe(1);
      await ctx.close();
    });

    test('prompt=login asks for the PIN again, on the agent page', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const rp = rig.rps[0];
      await page.goto(`${rp?.url}/login?prompt=login`);
      await page.waitForSelector('#card-status[data-code="ERR_CIS2_FRESH_LOGIN_REQUIRED"]');
      await new Promise((r) => setTimeout(r, 1100)); // the new PIN login falls in a later second
      await pinOnAgentPage(ctx);
      await page.click('#card-retry');
      await waitSignedIn(page, rp?.url ?? '');
      expect(pinEntries).toBe(2);
      await ctx.close();
    });

    test('the card session ending (logout on the agent) sends back-channel logout', async () => {
      const rp = rig.rps[0];
      const before = rp?.logouts.length ?? 0;
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(rig.agent.pageUrl);
      await page.waitForSelector('#state[data-state="active"]');
      await page.click('#logout button');
      await page.waitForSelector('#state[data-state="card-present"]');
      const t0 = Date.now();
      while ((rp?.logouts.length ?? 0) === before && Date.now() - t0 < 8000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rp?.logouts.length).toBeGreaterThan(before);
      expect(rp?.logouts.at(-1)).toMatchObject({
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      });
      await ctx.close();
    });
  },
);
