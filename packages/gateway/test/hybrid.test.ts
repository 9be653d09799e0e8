import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey, KeySet } from '@tessera/core';
import { createVerifier } from '@tessera/resource';
import { type KeyValueStore, MemoryStore, RedisStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm, signIn } from '../../../test/support/browser.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import {
  deleteKeysWithPrefix,
  keysWithPrefix,
  REDIS_URL,
  randomPrefix,
} from '../../../test/support/redis.js';
import { basic } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { signLogoutToken } from '../../../test/support/token-service/logout-token.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import type { Echo, Upstream } from '../../../test/support/upstream.js';
import { startUpstream } from '../../../test/support/upstream.js';
import { TokenVault } from '../src/auth/hybrid/vault.js';
import {
  createGateway,
  type GatewayConfigInput,
  type GatewayOptions,
  parseGatewayConfig,
} from '../src/index.js';

const CLIENT_SECRET = 'gateway-client-secret-0123456789abcdef-0123';

interface RunningGateway {
  readonly url: string;
  readonly app: FastifyInstance;
  /** Moves this gateway's clock (refresh timing) without sleeping. */
  skew: number;
  close(): Promise<void>;
}

let database: TestDatabase;
let service: Harness;
let upstream: Upstream;
let aliceId: string;
/** The gateway URLs the `gateway` client may be redirected to: registered before each gateway starts. */
const redirectUris: string[] = [];
const open: RunningGateway[] = [];

async function registerGatewayClient(issuer: Harness): Promise<void> {
  await issuer.service.clients.upsert({
    client_id: 'gateway',
    client_name: 'edge gateway',
    client_secret: CLIENT_SECRET,
    redirect_uris: redirectUris.map((base) => `${base}/auth/callback`),
    post_logout_redirect_uris: redirectUris.map((base) => `${base}/`),
    // The last gateway started receives the token service's logout tokens.
    ...(redirectUris.length === 0
      ? {}
      : { backchannel_logout_uri: `${redirectUris.at(-1)}/auth/backchannel-logout` }),
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    scopes: ['openid', 'profile', 'orders:read'],
    // `gateway` among them: the session's token is then one the gateway may exchange itself.
    audiences: ['orders', 'gateway'],
    first_party: true,
  });
}

/** A gateway on a port known before it is built, since its redirect URI names that port. */
async function startGateway(
  options: {
    store?: KeyValueStore;
    routes?: GatewayConfigInput['routes'];
    redirectBase?: string;
    issuer?: Harness;
  } = {},
): Promise<RunningGateway> {
  const issuer = options.issuer ?? service;
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectBase = options.redirectBase ?? url;
  redirectUris.push(redirectBase);
  await registerGatewayClient(issuer);
  const config = parseGatewayConfig({
    logLevel: 'silent',
    session: { store: { type: 'memory' }, insecureHttpLocalhost: true },
    hybrid: {
      issuer: issuer.url,
      clientId: 'gateway',
      redirectUri: `${redirectBase}/auth/callback`,
      scopes: ['openid', 'profile', 'orders:read'],
      postLogoutRedirectUri: `${redirectBase}/`,
    },
    routes: options.routes ?? [
      { prefix: '/api', upstream: upstream.url, auth: 'hybrid', stripPrefix: true, scopes: ['orders:read'] },
      { prefix: '/admin', upstream: upstream.url, auth: 'hybrid', scopes: ['orders:write'] },
      {
        prefix: '/narrow',
        upstream: upstream.url,
        auth: 'hybrid',
        exchange: { audience: 'orders', scope: ['orders:read'] },
      },
    ],
  });
  const running: RunningGateway = {
    url,
    app: undefined as unknown as FastifyInstance,
    skew: 0,
    close: async () => {},
  };
  const gatewayOptions: GatewayOptions = {
    clientSecret: CLIENT_SECRET,
    now: () => Date.now() + running.skew,
    ...(options.store === undefined ? {} : { sessionStore: options.store }),
  };
  const app = await createGateway(config, gatewayOptions);
  await app.ready();
  server.on('request', (request, response) => app.routing(request, response));
  Object.assign(running, {
    app,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      await app.close();
    },
  });
  open.push(running);
  return running;
}

/** Signs alice in through the gateway: /auth/login, the token service's form, the callback. */
async function signInThrough(
  gateway: RunningGateway,
  browser = new Browser(),
): Promise<{ browser: Browser; callback: URL }> {
  const start = await browser.fetch(`${gateway.url}/auth/login?return_to=/orders`);
  expect(start.status).toBe(303);
  const { location: callback } = await signIn(
    browser,
    start.headers.get('location') as string,
    'alice',
    ALICE_PASSWORD,
  );
  expect(callback.origin + callback.pathname).toBe(`${gateway.url}/auth/callback`);
  const done = await browser.fetch(callback);
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toBe('/orders');
  return { browser, callback };
}

async function me(gateway: RunningGateway, browser: Browser): Promise<Response> {
  return browser.fetch(`${gateway.url}/auth/me`);
}

async function echoOf(response: Response): Promise<Echo> {
  expect(response.status).toBe(200);
  return (await response.json()) as Echo;
}

function bearerOf(echo: Echo): string {
  const header = echo.headers.authorization;
  expect(header).toMatch(/^Bearer /);
  return (header as string).slice('Bearer '.length);
}

async function refreshesIssued(): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('tessera_tokens_issued_total{grant_type="refresh_token"}'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${service.url}/introspect`, {
    method: 'POST',
    headers: {
      authorization: basic('gateway', CLIENT_SECRET),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return (await response.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  database = await sqlite.create();
  service = await startService(database, { metrics: { public: true } });
  aliceId = await addAlice(service.service);
  upstream = await startUpstream();
});

afterEach(async () => {
  for (const gateway of open.splice(0)) await gateway.close();
  redirectUris.splice(0);
});

afterAll(async () => {
  await upstream.close();
  await service.stop();
  await database.cleanup();
});

describe('hybrid sign-in (docs/security.md F107)', () => {
  it('redirects to the token service with code, PKCE S256, state and nonce, binding the browser by a cookie', async () => {
    const gateway = await startGateway();
    const browser = new Browser();
    const response = await browser.fetch(`${gateway.url}/auth/login`);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') as string);
    expect(location.origin).toBe(service.url);
    const query = location.searchParams;
    expect(query.get('response_type')).toBe('code');
    expect(query.get('client_id')).toBe('gateway');
    expect(query.get('redirect_uri')).toBe(`${gateway.url}/auth/callback`);
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get('scope')).toBe('openid profile orders:read');
    expect(response.headers.getSetCookie().join('\n')).toMatch(
      /^tessera-login=[A-Za-z0-9_-]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    // Two sign-ins started: two different states.
    const again = new URL(
      (await browser.fetch(`${gateway.url}/auth/login`)).headers.get('location') as string,
    );
    expect(again.searchParams.get('state')).not.toBe(query.get('state'));
  });

  it('keeps the tokens in the session and gives the browser only the cookie', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    // The jar also holds the token service's own cookie (tessera-op); of the gateway's, only the session id.
    expect([...browser.cookies.keys()].filter((name) => name !== 'tessera-op')).toEqual(['tessera-sid']);
    const answer = await me(gateway, browser);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as Record<string, unknown>;
    expect(body.subject).toBe(aliceId);
    expect(body.username).toBe('alice');
    expect(body.claims).toMatchObject({ sub: aliceId, name: 'Alice' });
    expect(body.scope).toBe('openid profile orders:read');
    expect(typeof body.csrf_token).toBe('string');
    // Nothing the browser sees carries a token.
    expect(JSON.stringify(body)).not.toMatch(/eyJ/);
  });

  it('stores the tokens sealed: nothing in the session store reads as a token, and a sealed value opens only for its user', async () => {
    const prefix = randomPrefix('gw-hybrid-vault');
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const gateway = await startGateway({ store });
      const { browser } = await signInThrough(gateway);
      const token = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/api/items`)));
      const keys = await keysWithPrefix(prefix);
      expect(keys.length).toBeGreaterThan(0);
      const client = new Redis(REDIS_URL);
      try {
        for (const key of keys) {
          const type = await client.type(key);
          const values = type === 'set' ? await client.smembers(key) : [(await client.get(key)) ?? ''];
          for (const value of values) {
            expect(value).not.toContain(token);
            expect(value).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
          }
        }
      } finally {
        client.disconnect();
      }
    } finally {
      await store.close();
      await deleteKeysWithPrefix(prefix);
    }
    const vault = new TokenVault('a-secret-of-the-gateway-0123456789');
    const sealed = vault.seal('alice', { accessToken: 'at', refreshToken: 'rt' });
    expect(vault.open('alice', sealed)).toEqual({ accessToken: 'at', refreshToken: 'rt' });
    expect(() => vault.open('bob', sealed)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_REQUIRED' }),
    );
    const altered = `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`;
    expect(() => vault.open('alice', altered)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_REQUIRED' }),
    );
    expect(() => new TokenVault('another-secret-0123456789abcdef').open('alice', sealed)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_REQUIRED' }),
    );
  });

  it('sends the session access token upstream, a token the upstream can verify, and no cookie', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const echo = await echoOf(await browser.fetch(`${gateway.url}/api/items?x=1`));
    expect(echo.url).toBe('/items?x=1');
    expect(echo.headers.cookie).toBeUndefined();
    const verifier = await createVerifier({ issuer: service.url, audience: 'orders' });
    const principal = await verifier.verify(bearerOf(echo));
    expect(principal.subject).toBe(aliceId);
    expect(principal.clientId).toBe('gateway');
    expect(principal.scopes).toContain('orders:read');
  });

  it('on a route that says exchange, sends a token for that upstream alone, made by the gateway', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const plain = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/api/items`)));
    const narrowed = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/narrow/items`)));
    expect(narrowed).not.toBe(plain);
    const claims = JSON.parse(
      Buffer.from(narrowed.split('.')[1] as string, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({
      sub: aliceId,
      aud: 'orders',
      scope: 'orders:read',
      act: { sub: 'gateway' },
    });
  });

  it('refuses an unsafe request without the CSRF token and accepts it with', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const csrf = ((await (await me(gateway, browser)).json()) as { csrf_token: string }).csrf_token;
    const without = await browser.fetch(`${gateway.url}/api/orders`, { method: 'POST', body: '{}' });
    expect(without.status).toBe(403);
    expect(((await without.json()) as { error: { code: string } }).error.code).toBe('ERR_CSRF_TOKEN_INVALID');
    const withToken = await browser.fetch(`${gateway.url}/api/orders`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: '{}',
    });
    expect((await echoOf(withToken)).method).toBe('POST');
  });

  it('answers 403 insufficient_scope on a route that needs a scope the session was not granted', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const response = await browser.fetch(`${gateway.url}/admin/x`);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_AUTH_INSUFFICIENT_SCOPE',
    );
  });

  it('without a session a hybrid route answers 401 ERR_SESSION_REQUIRED', async () => {
    const gateway = await startGateway();
    const response = await fetch(`${gateway.url}/api/items`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ERR_SESSION_REQUIRED');
  });
});

describe('hybrid callback refusals', () => {
  async function pendingCallback(gateway: RunningGateway): Promise<{ browser: Browser; callback: URL }> {
    const browser = new Browser();
    const start = await browser.fetch(`${gateway.url}/auth/login`);
    const { location } = await signIn(
      browser,
      start.headers.get('location') as string,
      'alice',
      ALICE_PASSWORD,
    );
    return { browser, callback: location };
  }

  async function expectRefused(response: Response, code: string): Promise<void> {
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(JSON.stringify(body)).not.toMatch(/stack|at .*\.js/);
    expect(response.headers.getSetCookie().join('\n')).not.toMatch(/tessera-sid=[^;]/);
  }

  it('a callback works once', async () => {
    const gateway = await startGateway();
    const { browser, callback } = await signInThrough(gateway);
    const replay = await browser.fetch(callback);
    await expectRefused(replay, 'ERR_SIGN_IN_FAILED');
  });

  it('a callback in another browser (no binding cookie) signs nobody in', async () => {
    const gateway = await startGateway();
    const { callback } = await pendingCallback(gateway);
    const victim = new Browser();
    await expectRefused(await victim.fetch(callback), 'ERR_SIGN_IN_FAILED');
  });

  it('refuses an answer naming another issuer (RFC 9207), a missing state and an error answer', async () => {
    const gateway = await startGateway();
    const { browser, callback } = await pendingCallback(gateway);
    const forged = new URL(callback);
    forged.searchParams.set('iss', 'https://evil.example');
    await expectRefused(await browser.fetch(forged), 'ERR_SIGN_IN_FAILED');
    await expectRefused(await browser.fetch(`${gateway.url}/auth/callback?code=abc`), 'ERR_SIGN_IN_FAILED');

    const second = await pendingCallback(gateway);
    const denied = new URL(`${gateway.url}/auth/callback`);
    denied.searchParams.set('state', second.callback.searchParams.get('state') as string);
    denied.searchParams.set('iss', service.url);
    denied.searchParams.set('error', 'access_denied');
    const answer = await second.browser.fetch(denied);
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toContain(
      'access_denied',
    );
  });

  it('answers a browser a page with the reason and a way back, not JSON, when a sign-in fails', async () => {
    const gateway = await startGateway();
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const pending = await pendingCallback(gateway);
    const cancelled = new URL(`${gateway.url}/auth/callback`);
    cancelled.searchParams.set('state', pending.callback.searchParams.get('state') as string);
    cancelled.searchParams.set('iss', service.url);
    cancelled.searchParams.set('error', 'access_denied');
    const failures: [Response, string][] = [
      // "Cancel" at the token service's login page.
      [
        await pending.browser.fetch(cancelled, { headers: html }),
        'The sign-in was cancelled at the token service (access_denied).',
      ],
      // A callback no sign-in of this browser started (another browser, a replay, a forgery).
      [
        await new Browser().fetch(pending.callback, { headers: html }),
        'This sign-in was not started in this browser, or was already used; start again.',
      ],
    ];
    for (const [answer, reason] of failures) {
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const text = await answer.text();
      expect(text).toContain(`<p data-testid="sign-in-failed-reason">${reason}</p>`);
      expect(text).toContain(
        '<a class="button" href="/auth/login?return_to=/" data-testid="sign-in-again">Try again</a>',
      );
      expect(text).toContain('<a href="/" data-testid="back-to-shop">Back to the shop</a>');
      expect(text).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
      expect(answer.headers.getSetCookie().join('\n')).not.toMatch(/tessera-sid=[^;]/);
    }
    // What the token service sends back is never markup on this page.
    const forged = await pendingCallback(gateway);
    const injected = new URL(`${gateway.url}/auth/callback`);
    injected.searchParams.set('state', forged.callback.searchParams.get('state') as string);
    injected.searchParams.set('iss', service.url);
    injected.searchParams.set('error', '<img src=x onerror=alert(1)>');
    const page = await (await forged.browser.fetch(injected, { headers: html })).text();
    expect(page).toContain('The token service answered unknown.');
    expect(page).not.toContain('<img');
  });

  it('refuses a repeated parameter and a return_to that leaves the gateway', async () => {
    const gateway = await startGateway();
    for (const target of [
      '//evil.example/x',
      'https://evil.example/',
      '/\\evil.example',
      '/%0d%0aSet-Cookie:x',
    ]) {
      const response = await fetch(
        `${gateway.url}/auth/login?return_to=${encodeURIComponent(decodeURIComponent(target))}`,
        {
          redirect: 'manual',
        },
      );
      expect(response.status, target).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'ERR_HTTP_REQUEST_INVALID',
      );
    }
    const { browser, callback } = await pendingCallback(gateway);
    const doubled = new URL(callback);
    doubled.searchParams.append('state', 'another');
    const response = await browser.fetch(doubled);
    expect(response.status).toBe(400);
  });

  it('GET /auth/login stores nothing: the pending sign-in travels sealed in the browser cookie', async () => {
    const prefix = randomPrefix('gw-hybrid-login');
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const gateway = await startGateway({ store });
      for (let i = 0; i < 20; i++) {
        expect((await fetch(`${gateway.url}/auth/login`, { redirect: 'manual' })).status).toBe(303);
      }
      expect(await keysWithPrefix(prefix)).toEqual([]);
    } finally {
      await store.close();
      await deleteKeysWithPrefix(prefix);
    }
  });

  it('refuses a tampered, a duplicated or a missing sign-in cookie', async () => {
    const gateway = await startGateway();
    const { browser, callback } = await pendingCallback(gateway);
    const sealed = browser.cookies.get('tessera-login') as string;
    const flipped = `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`;
    for (const cookie of [
      `tessera-login=${flipped}`,
      `tessera-login=${sealed}; tessera-login=${sealed}`,
      '',
    ]) {
      const answer = await fetch(callback, { headers: cookie === '' ? {} : { cookie }, redirect: 'manual' });
      await expectRefused(answer, 'ERR_SIGN_IN_FAILED');
    }
    // The untouched cookie still works: the refusals above changed nothing.
    expect((await browser.fetch(callback)).status).toBe(303);
  });

  it('takes a percent-encoded return_to back unchanged, and refuses raw non-ASCII', async () => {
    const gateway = await startGateway();
    const raw = await fetch(`${gateway.url}/auth/login?return_to=${encodeURIComponent('/é')}`, {
      redirect: 'manual',
    });
    expect(raw.status).toBe(400);
    const browser = new Browser();
    const start = await browser.fetch(
      `${gateway.url}/auth/login?return_to=${encodeURIComponent('/caf%C3%A9?x=1')}`,
    );
    const { location } = await signIn(
      browser,
      start.headers.get('location') as string,
      'alice',
      ALICE_PASSWORD,
    );
    const done = await browser.fetch(location);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/caf%C3%A9?x=1');
  });

  it('a code the token service refuses (not one it issued) fails cleanly', async () => {
    const gateway = await startGateway();
    const { browser, callback } = await pendingCallback(gateway);
    const tampered = new URL(callback);
    tampered.searchParams.set('code', 'not-a-real-code');
    await expectRefused(await browser.fetch(tampered), 'ERR_SIGN_IN_FAILED');
  });
});

describe('hybrid refresh', () => {
  it('refreshes shortly before expiry, once, for many concurrent requests on two instances sharing Redis', async () => {
    const prefix = randomPrefix('gw-hybrid');
    const storeA = new RedisStore({ url: REDIS_URL, prefix });
    const storeB = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const a = await startGateway({ store: storeA });
      const b = await startGateway({ store: storeB, redirectBase: a.url });
      const { browser } = await signInThrough(a);
      const first = bearerOf(await echoOf(await browser.fetch(`${b.url}/api/items`)));

      // 4 min 30 s later the token has 30 s left, inside the 60 s refresh window.
      a.skew = b.skew = 270_000;
      const before = await refreshesIssued();
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) => browser.fetch(`${(i % 2 === 0 ? a : b).url}/api/items`)),
      );
      for (const answer of answers) expect(answer.status).toBe(200);
      expect(await refreshesIssued()).toBe(before + 1);
      const after = bearerOf(await echoOf(await browser.fetch(`${a.url}/api/items`)));
      expect(after).not.toBe(first);

      // The rotated refresh token is the live one: a second refresh later works (no reuse detected),
      // and what the token service now says of the user (a new name) reaches /auth/me.
      await service.service.users.setClaims(aliceId, {
        name: 'Alice Renamed',
        email: 'alice@example.com',
      });
      a.skew = b.skew = 540_000;
      const later = bearerOf(await echoOf(await browser.fetch(`${b.url}/api/items`)));
      expect(later).not.toBe(after);
      expect(await refreshesIssued()).toBe(before + 2);
      const answer = await me(a, browser);
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { claims: { name: string } }).claims.name).toBe('Alice Renamed');
      await service.service.users.setClaims(aliceId, { name: 'Alice', email: 'alice@example.com' });
    } finally {
      await storeA.close();
      await storeB.close();
      await deleteKeysWithPrefix(prefix);
    }
  });

  it('ends the session when the token service refuses the refresh (grant revoked)', async () => {
    const store = new MemoryStore();
    const gateway = await startGateway({ store });
    const { browser } = await signInThrough(gateway);
    const token = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/api/items`)));
    // The grant ends at the token service (what an admin, a reuse or a disabled user would do).
    const info = await introspect(token);
    expect(info.active).toBe(true);
    const grant = await service.context.grants.grantOfAccessToken(info.jti as string);
    expect(await service.context.grants.revokeGrant(grant?.id as string)).toBe(true);
    gateway.skew = 270_000;
    const refused = await browser.fetch(`${gateway.url}/api/items`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_SESSION_REQUIRED');
    expect((await me(gateway, browser)).status).toBe(401);
    await store.close();
  });
});

describe('hybrid logout', () => {
  it('ends the session, revokes the tokens at the token service and sends the browser on to end its session there', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const token = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/api/items`)));
    const csrf = ((await (await me(gateway, browser)).json()) as { csrf_token: string }).csrf_token;
    const refused = await browser.fetch(`${gateway.url}/auth/logout`, { method: 'POST' });
    expect(refused.status).toBe(403);

    const response = await browser.fetch(`${gateway.url}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrf },
    });
    expect(response.status).toBe(200);
    const { next } = (await response.json()) as { next: string };
    const end = new URL(next);
    expect(end.origin).toBe(service.url);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${gateway.url}/`);
    expect(end.searchParams.get('client_id')).toBe('gateway');
    // Passed back by the token service, so the page at the return address says "Signed out".
    expect(end.searchParams.get('state')).toBe('signed-out');
    // The ID token stays in the gateway: nothing in the browser's URL carries a token.
    expect(end.searchParams.get('id_token_hint')).toBeNull();
    expect(next).not.toMatch(/eyJ/);
    expect((await me(gateway, browser)).status).toBe(401);
    expect((await browser.fetch(`${gateway.url}/api/items`)).status).toBe(401);
    expect((await introspect(token)).active).toBe(false);

    // The token service ends its own session and comes back to the gateway.
    // The token service asks the user to confirm, ends its own session and comes back to the gateway.
    const confirm = await browser.fetch(end);
    expect(confirm.status).toBe(200);
    const { action, fields } = parseForm(await confirm.text());
    const back = await browser.post(service.url, action, { ...fields, confirm: 'yes' });
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe(`${gateway.url}/?state=signed-out`);
    // Signed out there already: nothing to confirm, straight back to the registered address.
    const again = await browser.fetch(end);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(`${gateway.url}/?state=signed-out`);
  });
});

describe('hybrid with the token service down', () => {
  it('keeps using a still-valid token, and answers 503 once it has expired', async () => {
    const ownDatabase = await sqlite.create();
    const own = await startService(ownDatabase);
    let stopped = false;
    try {
      await addAlice(own.service);
      const gateway = await startGateway({ issuer: own });
      const { browser } = await signInThrough(gateway);
      const token = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/api/items`)));
      await own.stop();
      stopped = true;
      // Inside the refresh window, the refresh fails, and the token it has still works.
      gateway.skew = 270_000;
      const still = bearerOf(await echoOf(await browser.fetch(`${gateway.url}/api/items`)));
      expect(still).toBe(token);
      gateway.skew = 330_000;
      const expired = await browser.fetch(`${gateway.url}/api/items`);
      expect(expired.status).toBe(503);
      expect(((await expired.json()) as { error: { code: string } }).error.code).toBe(
        'ERR_TOKEN_SERVICE_UNAVAILABLE',
      );
      // The session itself survives the outage.
      expect((await me(gateway, browser)).status).toBe(200);
    } finally {
      if (!stopped) await own.stop();
      await ownDatabase.cleanup();
    }
  });
});

describe('back-channel logout', () => {
  async function logoutToken(
    overrides: { keys?: KeySet; sub?: string; sid?: string | undefined } = {},
  ): Promise<string> {
    const client = await service.service.clients.find('gateway');
    return signLogoutToken({
      keys: overrides.keys ?? service.service.keys.keySet,
      client: client as NonNullable<typeof client>,
      issuer: service.url,
      now: Date.now(),
      sub: overrides.sub ?? aliceId,
      sid: overrides.sid,
    });
  }

  async function postLogout(gateway: RunningGateway, token: string): Promise<Response> {
    return fetch(`${gateway.url}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
  }

  it('a logout at the token service ends the gateway session made from it, and only that one', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const other = await signInThrough(gateway);
    // The user signs out at the token service itself (the confirmation form, no id_token_hint).
    const confirm = await browser.fetch(`${service.url}/logout`);
    expect(confirm.status).toBe(200);
    const { action, fields } = parseForm(await confirm.text());
    const done = await browser.post(service.url, action, { ...fields, confirm: 'yes' });
    expect(done.status).toBe(200);
    await service.service.idle();
    expect((await me(gateway, browser)).status).toBe(401);
    expect((await browser.fetch(`${gateway.url}/api/items`)).status).toBe(401);
    // Another browser of the same user had its own token service session: it goes on.
    expect((await me(gateway, other.browser)).status).toBe(200);
  });

  it('a logout token naming only the user ends all their sessions; a replayed one is refused', async () => {
    const gateway = await startGateway();
    const one = await signInThrough(gateway);
    const two = await signInThrough(gateway);
    const token = await logoutToken();
    const answer = await postLogout(gateway, token);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect((await me(gateway, one.browser)).status).toBe(401);
    expect((await me(gateway, two.browser)).status).toBe(401);
    const replay = await postLogout(gateway, token);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_HTTP_REQUEST_INVALID',
    );
  });

  it('refuses logout tokens that are not the token service’s, and ends nothing', async () => {
    const gateway = await startGateway();
    const { browser } = await signInThrough(gateway);
    const stranger = new KeySet();
    stranger.add(await generateSigningKey('RS256'), 'active');
    const client = await service.service.clients.find('gateway');
    const idToken = signLogoutToken({
      keys: service.service.keys.keySet,
      client: client as NonNullable<typeof client>,
      issuer: 'https://another-issuer.example',
      now: Date.now(),
      sub: aliceId,
      sid: undefined,
    });
    const [header, payload] = (await logoutToken()).split('.');
    for (const bad of [
      'garbage',
      await logoutToken({ keys: stranger }),
      idToken,
      `${header}.${payload}.`,
      `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${payload}.`,
    ]) {
      const answer = await postLogout(gateway, bad);
      expect(answer.status, bad.slice(0, 20)).toBe(400);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(
        'ERR_HTTP_REQUEST_INVALID',
      );
    }
    const empty = await fetch(`${gateway.url}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(empty.status).toBe(400);
    expect((await me(gateway, browser)).status).toBe(200);
  });
});
