import { X509Certificate } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certificateThumbprint } from '@tessera/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/support/chromium.js';
import type { DevMode, DevSystem } from '../src/dev/system.js';
import { devSystemForSuite, startDevOnFreePorts } from './support/processes.js';

// The demo page driven by a real browser against `tessera dev`: Debian's Chromium through
// playwright-core. CI installs /usr/bin/chromium; without it this test fails, it never skips.

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
async function signInThroughTokenService(
  page: Page,
  user: User,
  system: DevSystem,
  callback?: string,
): Promise<void> {
  await page.getByTestId('login-redirect').click();
  await page.waitForURL((url) => url.origin === system.urls.tokenService);
  await page.locator('input[name="username"]').fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  // Hybrid's callback is the gateway's, which redirects at once; token mode's is the page itself.
  const back =
    callback === undefined
      ? undefined
      : page.waitForURL((url) => url.href.startsWith(`${system.urls.gateway}${callback}?`));
  await page.locator('button[name="action"][value="login"]').click();
  await back;
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

/**
 * Token mode: the page is a browser application of the token service. Its "Sign in" button goes
 * to the token service's login page (code + PKCE S256) and back to the page's callback, which
 * redeems the code itself and returns to `/`.
 */
async function signInAsBrowserApp(page: Page, user: User, system: DevSystem): Promise<void> {
  await signInThroughTokenService(page, user, system, '/_tessera/callback');
}

/**
 * Token mode: the page revokes its access token, forgets it, and ends the token service's session
 * with its ID token as the hint (no question asked), which sends the browser back to `/`.
 */
async function signOutAsBrowserApp(page: Page, system: DevSystem): Promise<void> {
  const revoked = page.waitForResponse(
    (r) => r.url() === `${system.urls.tokenService}/revoke` && r.request().method() === 'POST',
  );
  const ended = page.waitForResponse((r) => r.url().startsWith(`${system.urls.tokenService}/logout`));
  await page.getByTestId('logout').click();
  expect((await revoked).status()).toBe(200);
  expect((await ended).status()).toBe(303);
  await page.waitForURL(`${system.urls.gateway}/`);
}

const modes: readonly ModeCase[] = [
  { mode: 'session', signIn: signInWithForm },
  { mode: 'hybrid', signIn: signInThroughTokenService, signOut: signOutThroughTokenService },
  { mode: 'token', signIn: signInAsBrowserApp, signOut: signOutAsBrowserApp },
];

/** What each mode's page says about itself, and what its services verified. */
const modeNames: Readonly<Record<DevMode, string>> = {
  session: 'Session mode',
  hybrid: 'Hybrid mode',
  token: 'Token mode',
};

/** The client each mode's orders service sees the user's call come from. */
const ordersClient: Readonly<Record<DevMode, string>> = {
  session: 'gateway',
  hybrid: 'gateway',
  token: 'shop-web',
};

const DESKTOP = { width: 1280, height: 900 } as const;
const PHONE = { width: 390, height: 844 } as const;

/**
 * Nothing scrolls sideways and every visible button and link is wholly inside the viewport: at
 * 390 px a cut-off "Order" or "Sign out" button is what this catches.
 */
async function expectFits(page: Page, where: string): Promise<void> {
  // A string, evaluated in the page: these tests are type-checked without the DOM library.
  const layout = await page.evaluate<{ scrollWidth: number; clientWidth: number; cut: string[] }>(`(() => {
    const root = document.documentElement;
    const cut = [...document.querySelectorAll('button, a, input, h4')]
      .filter((node) => {
        const box = node.getBoundingClientRect();
        return box.width > 0 && (box.left < 0 || box.right > root.clientWidth + 0.5);
      })
      .map((node) => node.tagName.toLowerCase() + ' "' + (node.textContent ?? '').trim().slice(0, 30) + '"');
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, cut };
  })()`);
  expect(layout.cut, where).toEqual([]);
  expect(layout.scrollWidth, where).toBeLessThanOrEqual(layout.clientWidth);
}

/** A full-page screenshot under test-artifacts/ (gitignored), at the viewport's width. */
async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
}

const start = (mode: DevMode) => startDevOnFreePorts(mode, SECRET);

const launch = launchChromium;

/** A fresh context (no cookies, no storage) and a page that records what would go unnoticed. */
async function openPage(
  browser: Browser,
  viewport: { readonly width: number; readonly height: number } = DESKTOP,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport });
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

/** Opens the page, signs alice in, and waits for the tessera-red row, which it returns. */
async function signedInAtItems(page: Page, system: DevSystem, signIn: ModeCase['signIn']) {
  await page.goto(system.urls.gateway);
  await signIn(page, alice, system);
  const red = page.locator('[data-testid="item-row"][data-item="tessera-red"]');
  await red.waitFor();
  return red;
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
          // The call tree: orders at the root, the two services it called nested inside it.
          const orders = page.locator('[data-testid="trace"] > [data-testid="hop"]');
          expect(
            await orders.evaluateAll((all) => all.map((hop) => hop.getAttribute('data-service'))),
          ).toEqual(['orders']);
          const called = orders.locator('[data-testid="calls"] > [data-testid="hop"]');
          expect(
            await called.evaluateAll((all) => all.map((hop) => hop.getAttribute('data-service'))),
          ).toEqual(['inventory', 'payments']);
          for (const service of ['orders', 'inventory', 'payments']) {
            const box = page.locator(`[data-testid="hop"][data-service="${service}"]`).first();
            expect(await box.getByTestId('hop-sub').first().textContent(), service).toBe(subject);
          }
          expect(await orders.getByTestId('hop-client_id').first().textContent()).toBe(ordersClient[mode]);
          // The mode is named, and the legend says what each field means in it.
          expect(await page.getByTestId('mode').textContent()).toBe(modeNames[mode]);
          const legend = (await page.getByTestId('legend').textContent()) ?? '';
          for (const field of ['sub', 'client_id', 'aud', 'scope', 'act']) expect(legend).toContain(field);
          if (mode === 'session') {
            expect(legend).toContain('a session records that you signed in, not what you allowed');
            expect(await orders.getByTestId('hop-scope').first().textContent()).toBe(
              '— (a session has none)',
            );
          } else {
            expect(legend).toContain('exchanged your token');
            expect(await orders.getByTestId('hop-scope').first().textContent()).toContain('orders:write');
          }
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

          if (mode === 'token') {
            // The tokens live in the page's memory only: nothing at rest in the browser.
            const kept = await page.evaluate(
              '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
            );
            expect(kept).toEqual({ local: 0, session: 0, cookie: '' });
            // Cookies ignore ports: the one on this host is the token service's own sign-in
            // session (HttpOnly), never a token, and the gateway sets none in token mode.
            const cookies = await context.cookies(system.urls.gateway);
            expect(cookies.map(({ name, httpOnly }) => ({ name, httpOnly }))).toEqual([
              { name: 'tessera-op', httpOnly: true },
            ]);
            for (const { value } of cookies) expect(value).not.toMatch(/^eyJ/);
          }

          await expectFits(page, `${mode} at ${DESKTOP.width} px`);
          await screenshot(page, `browser-${mode}`);
          await page.setViewportSize(PHONE);
          await expectFits(page, `${mode} at ${PHONE.width} px`);
          await screenshot(page, `browser-${mode}`);
          await page.setViewportSize(DESKTOP);

          if (signOut === undefined) await page.getByTestId('logout').click();
          else await signOut(page, system);
          await page.getByTestId('signed-out').waitFor();
          // Every mode says so, including those that went to the token service and back.
          await expect.poll(() => page.getByTestId('status').textContent()).toBe('Signed out.');
          expect(page.url()).toBe(`${system.urls.gateway}/`);
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

    if (mode !== 'session') {
      it(
        'Cancel at the token service ends on a page with the reason and a way back (390 px wide)',
        async () => {
          if (browser === undefined || system === undefined) throw new Error('not started');
          const { context, page, problems } = await openPage(browser, PHONE);
          try {
            await page.goto(system.urls.gateway);
            await page.getByTestId('signed-out').waitFor();
            await expectFits(page, `${mode}: the signed-out page`);
            await page.getByTestId('login-redirect').click();
            await page.waitForURL((url) => url.origin === system?.urls.tokenService);
            // The token service's login page: the shop's look, and it fits a phone as well.
            await expectFits(page, 'the login page of the token service');
            expect(
              await page.evaluate("getComputedStyle(document.querySelector('header')).borderBottomColor"),
            ).toBe('rgb(138, 43, 30)');
            await screenshot(page, `token-service-login-${mode}`);
            await page.setViewportSize(DESKTOP);
            await screenshot(page, `token-service-login-${mode}`);
            await page.setViewportSize(PHONE);
            await page.locator('button[name="action"][value="cancel"]').click();

            if (mode === 'hybrid') {
              // The gateway's callback answers a browser with a page, not JSON.
              await page.getByTestId('sign-in-failed').waitFor();
              expect(new URL(page.url()).pathname).toBe('/auth/callback');
              expect(await page.getByTestId('sign-in-failed-reason').textContent()).toBe(
                'The sign-in was cancelled at the token service (access_denied).',
              );
              await expectFits(page, 'the sign-in failure page');
              await screenshot(page, 'sign-in-failed-hybrid');
              expect(await page.getByTestId('sign-in-again').getAttribute('href')).toBe(
                '/auth/login?return_to=/',
              );
              await page.getByTestId('back-to-shop').click();
              await page.waitForURL(`${system.urls.gateway}/`);
              await page.getByTestId('signed-out').waitFor();
            } else {
              // The page itself was the callback: it says why, and offers "Sign in" again.
              await page.waitForURL(`${system.urls.gateway}/`);
              await page.getByTestId('signed-out').waitFor();
              expect(await page.getByTestId('status').textContent()).toBe(
                'Sign-in did not complete: the sign-in was cancelled at the token service. Press "Sign in" to try again.',
              );
              expect(await page.getByTestId('login-redirect').isVisible()).toBe(true);
              expect(await page.evaluate('sessionStorage.length')).toBe(0);
              await expectFits(page, 'the page after a cancelled sign-in');
              await screenshot(page, 'sign-in-cancelled-token');
            }
            expect(problems).toEqual([]);
          } finally {
            await context.close();
          }
        },
        TIMEOUT,
      );
    }

    if (mode === 'token') {
      it(
        'a callback this tab did not start redeems nothing and says why',
        async () => {
          if (browser === undefined || system === undefined) throw new Error('not started');
          const { context, page, problems } = await openPage(browser);
          try {
            let redeemed = false;
            page.on('request', (request) => {
              if (request.url() === `${system?.urls.tokenService}/token`) redeemed = true;
            });
            await page.goto(`${system.urls.gateway}/_tessera/callback?code=stolen&state=guessed`);
            await page.getByTestId('signed-out').waitFor();
            expect(await page.getByTestId('status').textContent()).toBe(
              'Sign-in did not complete: this sign-in was not started in this tab, or was already used. Press "Sign in" to try again.',
            );
            // The code is gone from the address bar, and was never sent anywhere.
            expect(page.url()).toBe(`${system.urls.gateway}/`);
            expect(redeemed).toBe(false);
            expect(problems).toEqual([]);
          } finally {
            await context.close();
          }
        },
        TIMEOUT,
      );
    }

    it(
      "shows the API's error as text in the status area and places no order",
      async () => {
        if (browser === undefined || system === undefined) throw new Error('not started');
        const { context, page, problems } = await openPage(browser);
        try {
          const red = await signedInAtItems(page, system, signIn);
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

/**
 * Signs in through the page, orders one tessera-red and reads, for each hop of the trace (orders,
 * inventory, payments), the binding of `kind` it checked, and the legend's text.
 */
async function orderAndReadBindings(
  browser: Browser | undefined,
  system: DevSystem,
  signIn: ModeCase['signIn'],
  kind: 'jkt' | 'x5t#S256',
): Promise<{ readonly hops: readonly (string | null)[]; readonly legend: string }> {
  if (browser === undefined) throw new Error('not started');
  const { context, page, problems } = await openPage(browser);
  try {
    const red = await signedInAtItems(page, system, signIn);
    await red.getByTestId('order').click();
    await page.getByTestId('last-order').waitFor();
    const bindingAt = (service: string) =>
      page
        .locator(`[data-testid="hop"][data-service="${service}"]`)
        .first()
        .locator(`[data-testid="hop-${kind}"]`)
        .first()
        .textContent();
    const hops = await Promise.all(['orders', 'inventory', 'payments'].map(bindingAt));
    const legend = (await page.getByTestId('legend').textContent()) ?? '';
    expect(problems).toEqual([]);
    return { hops, legend };
  } finally {
    await context.close();
  }
}

/** A browser for one suite, launched before its tests and closed after them. */
function browserForSuite(): { readonly browser: Browser | undefined } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launch();
  }, TIMEOUT);
  afterAll(() => browser?.close(), TIMEOUT);
  return {
    get browser() {
      return browser;
    },
  };
}

describe('the page in a browser, hybrid mode with --dpop', () => {
  const running = devSystemForSuite('hybrid', SECRET, { dpop: true }, TIMEOUT);
  const chromium = browserForSuite();

  it(
    "the trace shows the key each hop checked a proof of: the gateway's at orders, orders' at the two it called",
    async () => {
      const { hops, legend } = await orderAndReadBindings(
        chromium.browser,
        running.system,
        signInThroughTokenService,
        'jkt',
      );
      const [atOrders, atInventory, atPayments] = hops;
      expect(atOrders).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(atInventory).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(atInventory).not.toBe(atOrders);
      expect(atPayments).toBe(atInventory);
      expect(legend).toContain('jkt');
    },
    TIMEOUT,
  );
});

/** The certificate thumbprint (`x5t#S256`) of a part of `tessera dev --mtls`. */
function thumbprintOf(system: DevSystem, part: 'gateway' | 'orders'): string {
  const certificates = system.mtls?.certificates;
  if (certificates === undefined) throw new Error('the dev system runs without mutual TLS');
  return certificateThumbprint(new X509Certificate(certificates.parts[part].cert));
}

for (const { mode, signIn } of modes.filter((m) => m.mode !== 'session')) {
  describe(`the page in a browser, ${mode} mode with --mtls`, () => {
    const running = devSystemForSuite(mode, SECRET, { mtls: true }, TIMEOUT);
    const chromium = browserForSuite();

    it(
      "G174: the trace shows the x5t#S256 each hop checked: the gateway's certificate at orders, orders' at the two it called",
      async () => {
        const { system } = running;
        const { hops, legend } = await orderAndReadBindings(chromium.browser, system, signIn, 'x5t#S256');
        const byOrders = thumbprintOf(system, 'orders');
        expect(hops).toEqual([thumbprintOf(system, 'gateway'), byOrders, byOrders]);
        expect(legend).toContain('x5t#S256');
      },
      TIMEOUT,
    );
  });
}
