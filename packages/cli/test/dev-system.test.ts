import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openClientRepository } from '@tessera/token-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { eventually } from '../../../test/support/eventually.js';
import { openDatabase } from '../src/commands/service-secret.js';
import { derivedSecret, SHOP_CLI_REDIRECT } from '../src/dev/seed.js';
import type { DevMode, DevSystem } from '../src/dev/system.js';
import { codeFlowToken } from './support/code-flow.js';
import { startDevOnFreePorts } from './support/processes.js';

const SECRET = 'dev-system-test-secret-0123456789abcdef';

const start = (mode: DevMode) => startDevOnFreePorts(mode, SECRET);

interface TraceEntry {
  service: string;
  sub: string;
  client_id?: string;
  aud: string | string[];
  scope?: string;
  act?: { sub: string; act?: unknown };
}

interface OrderAnswer {
  order: { id: string; item: string; quantity: number; amount: number };
  trace: TraceEntry[];
  calls: { from: string; to: string }[];
}

/** The tree the trace was made along: orders called inventory and payments itself. */
const ORDER_CALLS = [
  { from: 'orders', to: 'inventory' },
  { from: 'orders', to: 'payments' },
];

const json = { 'content-type': 'application/json' };

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** `tessera users disable NAME` against the dev system's database, as an operator runs it in another terminal. */
async function disableInAnotherProcess(dir: string, username: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [bin, 'users', 'disable', username, '--db', `sqlite:${join(dir, 'tessera.db')}`],
    { env: { PATH: process.env.PATH ?? '' }, timeout: 15_000 },
  );
  return stdout;
}

/**
 * `tessera users disable bob` in another process, against a running dev system: bob's gateway
 * session must be refused within seconds (the dev system looks every second; 5 s by default),
 * while alice's goes on.
 */
async function expectDisabledElsewhereSignedOut(
  system: DevSystem,
  dir: string,
  signInAs: (username: string) => Promise<{ browser: Browser }>,
): Promise<void> {
  const bob = await signInAs('bob');
  const alice = await signInAs('alice');
  const orders = (who: { browser: Browser }) => who.browser.fetch(`${system.urls.gateway}/api/orders/orders`);
  expect((await orders(bob)).status).toBe(200);
  expect(await disableInAnotherProcess(dir, 'bob')).toMatch(/^disabled user bob/);
  await eventually(async () => expect((await orders(bob)).status).toBe(401), {
    timeoutMs: 5_000,
    intervalMs: 50,
  });
  expect((await orders(alice)).status).toBe(200);
}

describe('tessera dev, session mode: through the gateway with a cookie', () => {
  let system: DevSystem;
  let dir: string;
  beforeAll(async () => {
    ({ system, dir } = await start('session'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signInAs(username: string): Promise<{ browser: Browser; subject: string; csrf: string }> {
    const browser = new Browser();
    const login = await browser.fetch(`${system.urls.gateway}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password: `${username}-password` }),
    });
    expect(login.status).toBe(204);
    const me = await browser.fetch(`${system.urls.gateway}/auth/me`);
    expect(me.status).toBe(200);
    const { subject, csrf_token } = (await me.json()) as { subject: string; csrf_token: string };
    return { browser, subject, csrf: csrf_token };
  }

  it('writes the files a part can be started again from', () => {
    const gateway = readFileSync(system.files.gateway, 'utf8');
    expect(gateway).toContain('auth: session');
    expect(gateway).toContain('/api/orders');
    expect(gateway).not.toContain(derivedSecret(SECRET, 'session references'));
    expect(readFileSync(system.files.seed, 'utf8')).toContain('client_id: shop-cli');
    // The gateway's keys are its own edges' alone: one per audience it routes to, none of the
    // services' own calls, and not the master they were derived from.
    const keys = readFileSync(system.files.referenceKeys, 'utf8').trim();
    expect(keys.split(',').map((entry) => entry.split(':')[0])).toEqual(['orders=k1', 'inventory=k1']);
    expect(keys).not.toContain(derivedSecret(SECRET, 'session references'));
  });

  it("the page links the latest tessera compare report, written under the dev dir's reports/", async () => {
    const page = await (await fetch(`${system.urls.gateway}/`)).text();
    expect(page).toContain('href="/_tessera/report"');
    expect((await fetch(`${system.urls.gateway}/_tessera/report`)).status).toBe(404);
    mkdirSync(join(dir, 'reports'), { recursive: true });
    writeFileSync(join(dir, 'reports', 'latest.html'), '<!doctype html><p>a comparison</p>');
    const report = await fetch(`${system.urls.gateway}/_tessera/report`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-security-policy')).toMatch(/^sandbox allow-scripts;/);
    expect(await report.text()).toContain('a comparison');
  });

  it('places an order: every service saw alice, from her session, and the chain of services it came through', async () => {
    const alice = await signInAs('alice');
    const response = await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': alice.csrf },
      body: JSON.stringify({ item: 'tessera-red', quantity: 3 }),
    });
    expect(response.status).toBe(201);
    const { order, trace, calls } = (await response.json()) as OrderAnswer;
    expect(order).toMatchObject({ item: 'tessera-red', quantity: 3, amount: 360 });
    expect(calls).toEqual(ORDER_CALLS);
    expect(trace).toEqual([
      { service: 'orders', sub: alice.subject, client_id: 'gateway', aud: 'orders' },
      {
        service: 'inventory',
        sub: alice.subject,
        client_id: 'orders',
        aud: 'inventory',
        act: { sub: 'orders' },
      },
      {
        service: 'payments',
        sub: alice.subject,
        client_id: 'orders',
        aud: 'payments',
        act: { sub: 'orders' },
      },
    ]);
    const items = await alice.browser.fetch(`${system.urls.gateway}/api/inventory/items`);
    expect(
      ((await items.json()) as { id: string; stock: number }[]).find((i) => i.id === 'tessera-red')?.stock,
    ).toBe(497);
  });

  it('refuses an unsafe request without the CSRF token (403) and places no order', async () => {
    const alice = await signInAs('alice');
    const before = (await (
      await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`)
    ).json()) as unknown[];
    const response = await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(response.status).toBe(403);
    const after = (await (
      await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`)
    ).json()) as unknown[];
    expect(after).toHaveLength(before.length);
  });

  it("alice lists only her own orders, never bob's", async () => {
    const bob = await signInAs('bob');
    const placed = await bob.browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': bob.csrf },
      body: JSON.stringify({ item: 'tessera-gold', quantity: 1 }),
    });
    expect(placed.status).toBe(201);
    const bobsOrder = ((await placed.json()) as OrderAnswer).order.id;
    const alice = await signInAs('alice');
    const list = (await (await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`)).json()) as {
      id: string;
    }[];
    expect(list.length).toBeGreaterThan(0);
    expect(list.map((o) => o.id)).not.toContain(bobsOrder);
    const bobsList = (await (await bob.browser.fetch(`${system.urls.gateway}/api/orders/orders`)).json()) as {
      id: string;
    }[];
    expect(bobsList.map((o) => o.id)).toEqual([bobsOrder]);
  });

  it('after logout the session works nowhere: the gateway refuses it before any service sees it', async () => {
    const alice = await signInAs('alice');
    const logout = await alice.browser.fetch(`${system.urls.gateway}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': alice.csrf },
    });
    expect(logout.status).toBe(204);
    const after = await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`);
    expect(after.status).toBe(401);
  });

  it('a backend called without the gateway (no session reference) answers 401', async () => {
    const response = await fetch(`${system.urls.payments}/charge`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ amount: 1, reference: 'x' }),
    });
    expect(response.status).toBe(401);
  });

  // Last: bob stays disabled.
  it('tessera users disable, run in another process, ends the sessions at the gateway within seconds', async () => {
    // The gateway's own directory finds the disable.
    await expectDisabledElsewhereSignedOut(system, dir, signInAs);
  });
});

describe('tessera dev, token mode: through the gateway with a bearer token', () => {
  let system: DevSystem;
  let dir: string;
  beforeAll(async () => {
    ({ system, dir } = await start('token'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The authorization code flow with PKCE, driven over HTTP as a command-line client would. */
  const userToken = (username: string, clientId = 'shop-cli', scope = 'openid orders:read orders:write') =>
    codeFlowToken(system.urls.tokenService, username, { clientId, scope });

  it("registers the page as a browser application: the token service answers CORS for the gateway's origin only", async () => {
    const seed = readFileSync(system.files.seed, 'utf8');
    expect(seed).toContain('client_id: shop-web');
    expect(seed).toContain(`- ${system.urls.gateway}/_tessera/callback`);
    expect(readFileSync(system.files.gateway, 'utf8')).toContain('clientId: shop-web');
    const page = await fetch(`${system.urls.gateway}/`);
    expect(await page.text()).toContain(
      `data-login="browser" data-mode="token" data-issuer="${system.urls.tokenService}"`,
    );
    expect(page.headers.get('content-security-policy')).toContain(
      `connect-src 'self' ${system.urls.tokenService};`,
    );
    const preflight = (origin: string) =>
      fetch(`${system.urls.tokenService}/token`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const allowed = await preflight(system.urls.gateway);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(system.urls.gateway);
    const other = await preflight(system.urls.orders);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  const subjectOf = (token: string): string =>
    (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string }).sub;

  const order = (token: string, item = 'tessera-red') =>
    fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ item, quantity: 2 }),
    });

  it('places an order: payments saw alice as sub and orders in act', async () => {
    const token = await userToken('alice');
    const alice = subjectOf(token);
    const response = await order(token);
    expect(response.status).toBe(201);
    const { trace, calls } = (await response.json()) as OrderAnswer;
    expect(calls).toEqual(ORDER_CALLS);
    expect(trace.map((entry) => entry.service)).toEqual(['orders', 'inventory', 'payments']);
    expect(trace[0]).toMatchObject({ sub: alice, client_id: 'shop-cli', aud: ['orders', 'inventory'] });
    expect(trace[0]?.act).toBeUndefined();
    expect(trace[1]).toEqual({
      service: 'inventory',
      sub: alice,
      client_id: 'orders',
      aud: 'inventory',
      scope: 'inventory:reserve',
      act: { sub: 'orders' },
    });
    expect(trace[2]).toEqual({
      service: 'payments',
      sub: alice,
      client_id: 'orders',
      aud: 'payments',
      scope: 'payments:charge',
      act: { sub: 'orders' },
    });
  });

  it("alice lists only her own orders, never bob's", async () => {
    const bobsToken = await userToken('bob');
    const placed = await order(bobsToken, 'mosaic-kit');
    expect(placed.status).toBe(201);
    const bobsOrder = ((await placed.json()) as OrderAnswer).order.id;
    const alicesToken = await userToken('alice');
    expect((await order(alicesToken)).status).toBe(201);
    const list = await fetch(`${system.urls.gateway}/api/orders/orders`, {
      headers: { authorization: `Bearer ${alicesToken}` },
    });
    expect(list.status).toBe(200);
    const ids = ((await list.json()) as { id: string }[]).map((o) => o.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain(bobsOrder);
  });

  it('refuses payments a user token for payments that did not come through orders (403)', async () => {
    // A public client that may ask for payments directly: the token is alice's, for payments,
    // with payments:charge, but no delegation chain through orders.
    const database = await openDatabase(`sqlite:${join(dir, 'tessera.db')}`);
    try {
      await openClientRepository({ database: database.db, secret: SECRET, dev: true }).upsert({
        client_id: 'sneaky-cli',
        token_endpoint_auth_method: 'none',
        redirect_uris: [SHOP_CLI_REDIRECT],
        grant_types: ['authorization_code'],
        scopes: ['payments:charge'],
        audiences: ['payments'],
        first_party: true,
      });
    } finally {
      await database.db.destroy();
    }
    const token = await userToken('alice', 'sneaky-cli', 'payments:charge');
    const response = await fetch(`${system.urls.payments}/charge`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ amount: 100, reference: 'direct' }),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_AUTH_INSUFFICIENT_SCOPE',
    );
  });

  it("refuses payments alice's shop-cli token (not for payments: 401) and orders' own token (no user, no chain: 403)", async () => {
    const token = await userToken('alice');
    const direct = await fetch(`${system.urls.payments}/charge`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ amount: 100, reference: 'direct' }),
    });
    expect(direct.status).toBe(401);
    const own = await fetch(`${system.urls.tokenService}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`orders:${derivedSecret(SECRET, 'client orders')}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&audience=payments&scope=payments%3Acharge',
    });
    expect(own.status).toBe(200);
    const ownToken = ((await own.json()) as { access_token: string }).access_token;
    const charge = await fetch(`${system.urls.payments}/charge`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${ownToken}` },
      body: JSON.stringify({ amount: 100, reference: 'own' }),
    });
    expect(charge.status).toBe(403);
  });

  it('a revoked token stops working at orders within a second (revocation event, deny-list)', async () => {
    const token = await userToken('alice');
    expect((await order(token)).status).toBe(201);
    const revoke = await fetch(`${system.urls.tokenService}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: 'shop-cli' }).toString(),
    });
    expect(revoke.status).toBe(200);
    const deadline = Date.now() + 1000;
    let status = 0;
    do {
      status = (await order(token)).status;
      if (status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < deadline);
    expect(status).toBe(401);
  });

  it('a revoked token is refused at the gateway itself, cached there or not (the in-process channel)', async () => {
    // The gateway's upstream histogram counts what went upstream: a refusal at the edge adds none.
    const upstream401s = async () => {
      const text = await (await fetch(`${system.urls.gateway}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith('tessera_gateway_upstream_duration_seconds_count{route="/api/orders",status="401"}'),
        );
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const revoke = async (token: string) => {
      const response = await fetch(`${system.urls.tokenService}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: 'shop-cli' }).toString(),
      });
      expect(response.status).toBe(200);
    };
    const cached = await userToken('alice');
    expect((await order(cached)).status).toBe(201);
    const unseen = await userToken('alice');
    const before = await upstream401s();
    await revoke(cached);
    await revoke(unseen);
    for (const token of [cached, unseen]) {
      const refused = await eventually(
        async () => {
          const response = await order(token);
          expect(response.status).toBe(401);
          return response;
        },
        { timeoutMs: 1_000, intervalMs: 20 },
      );
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(await refused.json()).toMatchObject({ error: { code: 'ERR_TOKEN_REVOKED' } });
    }
    expect(await upstream401s()).toBe(before);
  });

  it('refuses an order without a token at the gateway (401)', async () => {
    const response = await fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(response.status).toBe(401);
  });
});

describe('tessera dev, hybrid mode: a session at the edge, tokens behind it', () => {
  let system: DevSystem;
  let dir: string;
  beforeAll(async () => {
    ({ system, dir } = await start('hybrid'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The browser's way in: the gateway sends it to the token service's form and takes it back. */
  async function signInAs(username: string): Promise<{ browser: Browser; subject: string; csrf: string }> {
    const browser = new Browser();
    const start = await browser.fetch(`${system.urls.gateway}/auth/login`);
    expect(start.status).toBe(303);
    const { location } = await signIn(
      browser,
      start.headers.get('location') as string,
      username,
      `${username}-password`,
    );
    expect(`${location.origin}${location.pathname}`).toBe(`${system.urls.gateway}/auth/callback`);
    const callback = await browser.fetch(location);
    expect(callback.status).toBe(303);
    const me = await browser.fetch(`${system.urls.gateway}/auth/me`);
    expect(me.status).toBe(200);
    const { subject, csrf_token } = (await me.json()) as { subject: string; csrf_token: string };
    return { browser, subject, csrf: csrf_token };
  }

  const placeOrder = (who: { browser: Browser; csrf: string }, item = 'tessera-red') =>
    who.browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': who.csrf },
      body: JSON.stringify({ item, quantity: 1 }),
    });

  it('writes a gateway config with the hybrid client and no secret in it', () => {
    const gateway = readFileSync(system.files.gateway, 'utf8');
    expect(gateway).toContain('auth: hybrid');
    expect(gateway).toContain('clientId: gateway');
    expect(gateway).not.toContain(derivedSecret(SECRET, 'client gateway'));
    expect(readFileSync(system.files.clientSecret, 'utf8').trim()).toBe(
      derivedSecret(SECRET, 'client gateway'),
    );
  });

  it('places an order: the gateway sent the session token, orders exchanged it, payments saw alice and orders in act', async () => {
    const alice = await signInAs('alice');
    const response = await placeOrder(alice);
    expect(response.status).toBe(201);
    const { trace } = (await response.json()) as OrderAnswer;
    expect(trace.map((entry) => entry.service)).toEqual(['orders', 'inventory', 'payments']);
    expect(trace[0]).toMatchObject({
      sub: alice.subject,
      client_id: 'gateway',
      aud: ['orders', 'inventory'],
    });
    expect(trace[0]?.act).toBeUndefined();
    expect(trace[2]).toEqual({
      service: 'payments',
      sub: alice.subject,
      client_id: 'orders',
      aud: 'payments',
      scope: 'payments:charge',
      act: { sub: 'orders' },
    });
  });

  it("refuses an unsafe request without the CSRF token (403), and alice never sees bob's orders", async () => {
    const alice = await signInAs('alice');
    const forged = await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(forged.status).toBe(403);
    const bob = await signInAs('bob');
    const placed = await placeOrder(bob, 'tessera-gold');
    expect(placed.status).toBe(201);
    const bobsOrder = ((await placed.json()) as OrderAnswer).order.id;
    const list = (await (await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`)).json()) as {
      id: string;
    }[];
    expect(list.map((o) => o.id)).not.toContain(bobsOrder);
  });

  it('a logout at the gateway, or at the token service, stops the session everywhere within a second', async () => {
    const alice = await signInAs('alice');
    const logout = await alice.browser.fetch(`${system.urls.gateway}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': alice.csrf },
    });
    expect(logout.status).toBe(200);
    expect(((await logout.json()) as { next: string }).next).toContain(`${system.urls.tokenService}/logout?`);
    expect((await alice.browser.fetch(`${system.urls.gateway}/api/orders/orders`)).status).toBe(401);

    // Signed in again, then out at the token service: back-channel logout reaches the gateway.
    const again = await signInAs('alice');
    const confirm = await again.browser.fetch(`${system.urls.tokenService}/logout`);
    const form = /name="csrf" value="([^"]+)"/.exec(await confirm.text());
    const out = await again.browser.post(system.urls.tokenService, '/logout', {
      csrf: form?.[1] ?? '',
      confirm: 'yes',
    });
    expect(out.status).toBe(200);
    await eventually(
      async () =>
        expect((await again.browser.fetch(`${system.urls.gateway}/api/orders/orders`)).status).toBe(401),
      { timeoutMs: 1_000, intervalMs: 50 },
    );
  });

  // Last: bob stays disabled.
  it('tessera users disable, run in another process, reaches the token service, which signs the gateway session out', async () => {
    // The token service finds the disable, ends bob's SSO session and grants, and sends the
    // gateway a back-channel logout for his session there.
    await expectDisabledElsewhereSignedOut(system, dir, signInAs);
  });
});
