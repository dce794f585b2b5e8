// Debian's chromium, driven by playwright-core (never a downloaded browser), started with the flags this
// machine's closed network needs (no background networking, no component updates). The one definition for the
// benchmark's Credential Management section (cm.ts) and the browser tests (test/helpers/chromium.ts re-exports
// it): it lives here because bench/ may not import test/ (tsconfig.bench.json builds src/ and bench/ only).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** Starts headless chromium with the flags above. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}
