import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevMode, DevSystem } from '../src/dev/system.js';
import { startDevOnFreePorts } from './support/processes.js';

// The demo page driven by a real browser against `tessera dev`: Debian's Chromium through
// playwright-core. CI installs /usr/bin/chromium; without it this test fails, it never skips.

const CHROMIUM = '/usr/bin/chromium';
const SECRET = 'browser-test-secret-0123456789abcdef0123';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const TIMEOUT = 60_000;

interface User {
  readonly username: string;
  readonly password: string;
}

const alice: User = { username: 'alice', password: 'alice-password' };

/** Session mode: the page's own form, posted as JSON to the gateway's /auth/login. */
async function signInWithForm(page: Page, user: User): Promise<void> {
  await page.getByTestId('login-form').waitFor();
  await page.locator('#username').fill(user.username);
  await page.locator('#password').fill(user.password);
  await page.getByTestId('login-submit').click();
}

/**
 * One entry per mode the page can sign in with: the dev-system mode and how a user signs in from
 * the signed-out page. Everything after signing in is the same for every mode. (Hybrid: a "Sign
 * in" button, `login-redirect`, that navigates to the token service's login page and back to `/`.)
 */
interface ModeCase {
  readonly mode: DevMode;
  readonly signIn: (page: Page, user: User, system: DevSystem) => Promise<void>;
  /** Clicks "Sign out" and does whatever else the mode asks of the user before the page is back. */
  readonly signOut?: (page: Page, system: DevSystem) => Promise<void>;
}

/** Hybrid mode: the page's button, the token service's own login page, and back to `/`. */
async function signInThroughTokenService(page: Page, user: User, system: DevSystem): Promise<void> {
  await page.getByTestId('login-redirect').click();
  await page.waitForURL((url) => url.origin === system.urls.tokenService);
  await page.locator('input[name="username"]').fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  await page.locator('button[name="action"][value="login"]').click();
  await page.waitForURL(`${system.urls.gateway}/`);
}

/**
 * Hybrid mode: the page goes on to the token service's logout, which asks to confirm while its own
 * session cookie is there. On one host (here: 127.0.0.1, any port) the gateway's
 * `Clear-Site-Data: "cookies"` has already removed that cookie too, and it sends the browser straight back.
 */
async function signOutThroughTokenService(page: Page, system: DevSystem): Promise<void> {
  const answered = page.waitForResponse((r) => r.url().startsWith(`${system.urls.tokenService}/logout`));
  await page.getByTestId('logout').click();
  const response = await answered;
  if (response.status() === 200) await page.locator('button[name="confirm"]').click();
  else expect(response.status()).toBe(303);
  await page.waitForURL(`${system.urls.gateway}/`);
}

const modes: readonly ModeCase[] = [
  { mode: 'session', signIn: signInWithForm },
  { mode: 'hybrid', signIn: signInThroughTokenService, signOut: signOutThroughTokenService },
];

const start = (mode: DevMode) => startDevOnFreePorts(mode, SECRET);

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser test needs Debian's chromium (apt-get install chromium)`,
    );
  }
  // No user-data-dir of ours: playwright makes a fresh temporary profile and removes it on close.
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

/** A fresh context (no cookies, no storage) and a page that records what would go unnoticed. */
async function openPage(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Only the page's own failures: a CSP refusal or an exception, not a 404 for /favicon.ico.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return { context, page, problems };
}

for (const { mode, signIn, signOut } of modes) {
  describe(`the page in a browser, ${mode} mode`, () => {
    let system: DevSystem | undefined;
    let dir: string | undefined;
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await launch();
      ({ system, dir } = await start(mode));
    }, TIMEOUT);
    afterAll(async () => {
      await browser?.close();
      await system?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }, TIMEOUT);

    it(
      'signs in, places an order, draws the trace with alice at every hop, signs out',
      async () => {
        if (browser === undefined || system === undefined) throw new Error('not started');
        const { context, page, problems } = await openPage(browser);
        try {
          await page.goto(system.urls.gateway);
          await expect.poll(() => page.getByTestId('signed-out').isVisible()).toBe(true);

          await signIn(page, alice, system);
          await page.getByTestId('signed-in').waitFor();
          expect(page.url()).toBe(`${system.urls.gateway}/`);
          expect(await page.getByTestId('me-username').textContent()).toBe('alice');
          const subject = (await page.getByTestId('me-subject').textContent()) ?? '';
          expect(subject).not.toBe('');

          const rows = page.getByTestId('item-row');
          await rows.first().waitFor();
          expect(await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-item')))).toEqual([
            'tessera-red',
            'tessera-gold',
            'mosaic-kit',
          ]);
          const red = page.locator('[data-testid="item-row"][data-item="tessera-red"]');
          const stockBefore = Number(await red.getByTestId('item-stock').textContent());
          await red.getByTestId('quantity').fill('2');
          await red.getByTestId('order').click();

          await page.getByTestId('last-order').waitFor();
          const hops = page.getByTestId('hop');
          expect(await hops.evaluateAll((all) => all.map((hop) => hop.getAttribute('data-service')))).toEqual(
            ['orders', 'inventory', 'payments'],
          );
          const payments = page.locator('[data-testid="hop"][data-service="payments"]');
          expect(await payments.getByTestId('hop-sub').textContent()).toBe(subject);
          expect(await payments.getByTestId('hop-aud').textContent()).toBe('payments');
          // The chain reads the same in both modes: the token's act, the session reference's chain.
          expect(await payments.getByTestId('hop-act').textContent()).toBe('orders');
          expect(await payments.getByTestId('hop-client_id').textContent()).toBe('orders');
          expect(await page.getByTestId('order-summary').textContent()).toContain('2 × tessera-red');
          await expect
            .poll(async () => Number(await red.getByTestId('item-stock').textContent()))
            .toBe(stockBefore - 2);
          expect(await page.getByTestId('order-row').count()).toBe(1);
          expect(await page.getByTestId('status').isVisible()).toBe(false);

          mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: join(ARTIFACTS, `browser-${mode}.png`), fullPage: true });

          if (signOut === undefined) await page.getByTestId('logout').click();
          else await signOut(page, system);
          await page.getByTestId('signed-out').waitFor();
          expect(await page.getByTestId('signed-in').isVisible()).toBe(false);
          expect(await page.getByTestId('whoami').isVisible()).toBe(false);
          await page.reload();
          await page.getByTestId('signed-out').waitFor();
          expect(problems).toEqual([]);
        } finally {
          await context.close();
        }
      },
      TIMEOUT,
    );

    it(
      "shows the API's error as text in the status area and places no order",
      async () => {
        if (browser === undefined || system === undefined) throw new Error('not started');
        const { context, page, problems } = await openPage(browser);
        try {
          await page.goto(system.urls.gateway);
          await signIn(page, alice, system);
          const red = page.locator('[data-testid="item-row"][data-item="tessera-red"]');
          await red.waitFor();
          const orders = await page.getByTestId('order-row').count();
          await red.getByTestId('quantity').fill('5000');
          await red.getByTestId('order').click();
          const status = page.getByTestId('status');
          await status.waitFor();
          expect(await status.textContent()).toBe(
            'Placing the order failed (400): item and quantity (1 to 1000) required',
          );
          expect(await page.getByTestId('last-order').isVisible()).toBe(false);
          expect(await page.getByTestId('order-row').count()).toBe(orders);
          expect(problems).toEqual([]);
        } finally {
          await context.close();
        }
      },
      TIMEOUT,
    );
  });
}
