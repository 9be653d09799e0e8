import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium package: `npm test` installs it when missing (scripts/ensure-chromium.sh). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium as the tests and the report pictures drive it: nothing of its own goes to the
 * network. No user-data-dir of ours: playwright makes a fresh temporary profile and removes it on
 * close.
 */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: it is Debian's chromium package (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
