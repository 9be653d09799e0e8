import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Browser, parseForm, signIn } from '../../../test/support/browser.js';
import { LogCapture } from '../../../test/support/logs.js';
import { freePort } from '../../../test/support/redis-server.js';
import { SHOP_CLI_REDIRECT } from '../src/dev/seed.js';
import type { DevMode, DevSystem } from '../src/dev/system.js';
import { authorizeUrl, signInAtGateway } from './support/code-flow.js';
import { spawnTessera, startDevOnFreePorts } from './support/processes.js';

const SECRET = 'dev-logs-test-secret-0123456789abcdef-xyz';
const json = { 'content-type': 'application/json' };
const WRONG_PASSWORD = 'not-alices-password-9f3e2a';

type Line = Record<string, unknown>;

/** Every client secret of the seed, every password the test typed: none may reach a log line. */
function seedSecrets(system: DevSystem): string[] {
  const seed = parse(readFileSync(system.files.seed, 'utf8')) as {
    clients: { client_secret?: string }[];
    users: { password?: string }[];
  };
  return [
    SECRET,
    WRONG_PASSWORD,
    readFileSync(system.files.clientSecret, 'utf8').trim(),
    ...seed.clients.flatMap((c) => (c.client_secret === undefined ? [] : [c.client_secret])),
    ...seed.users.flatMap((u) => (u.password === undefined ? [] : [u.password])),
  ];
}

function expectNoSecret(logs: LogCapture, secrets: readonly string[]): void {
  expect(secrets.filter((s) => s.length >= 8).length).toBeGreaterThan(3);
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    expect(logs.text.includes(secret), `a log line holds a secret (${secret.slice(0, 4)}...)`).toBe(false);
  }
}

const audits = (logs: LogCapture, event: string): Line[] =>
  logs.entries().filter((line) => line.audit === event);

const METRICS_TOKEN = 'dev-metrics-token-0123456789abcdef-0123';

async function startWithLogs(mode: DevMode): Promise<{ system: DevSystem; dir: string; logs: LogCapture }> {
  const logs = new LogCapture();
  const started = await startDevOnFreePorts(mode, SECRET, {
    logs: { destination: logs },
    logLevel: 'info',
    metrics: { bearerToken: METRICS_TOKEN },
  });
  return { ...started, logs };
}

describe('tessera dev logs, token mode: every part, one format, an audit trail, no secret', () => {
  let system: DevSystem;
  let dir: string;
  let logs: LogCapture;
  beforeAll(async () => {
    ({ system, dir, logs } = await startWithLogs('token'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs logins, tokens issued, refused and revoked, sessions, and every part’s requests', async () => {
    const secrets = seedSecrets(system);
    // A failed login at the token service's form.
    const browser = new Browser();
    const verifier = randomBytes(32).toString('base64url');
    const page = await browser.fetch(authorizeUrl(system.urls.tokenService, verifier));
    const { action, fields } = parseForm(await page.text());
    const failed = await browser.post(system.urls.tokenService, action, {
      ...fields,
      username: 'alice',
      password: WRONG_PASSWORD,
      action: 'login',
    });
    expect(failed.status).toBe(401);

    const signedIn = new Browser();
    const { location } = await signIn(
      signedIn,
      authorizeUrl(system.urls.tokenService, verifier),
      'alice',
      'alice-password',
    );
    const code = location.searchParams.get('code') ?? '';
    const tokenResponse = await fetch(`${system.urls.tokenService}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: SHOP_CLI_REDIRECT,
        client_id: 'shop-cli',
        code_verifier: verifier,
      }).toString(),
    });
    expect(tokenResponse.status).toBe(200);
    const issued = (await tokenResponse.json()) as { access_token: string; refresh_token?: string };
    const token = issued.access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      jti: string;
      sub: string;
    };

    // An order (orders exchanges the token for inventory's and payments' audiences).
    const order = await fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(order.status).toBe(201);
    // A forged token, at the gateway and straight at a service.
    const forged = `${token.slice(0, -4)}AAAA`;
    const atEdge = await fetch(`${system.urls.gateway}/api/orders/orders`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(atEdge.status).toBe(401);
    const atService = await fetch(`${system.urls.inventory}/items`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(atService.status).toBe(401);
    // The code again: refused (and the grant revoked, as a reused code must).
    const replay = await fetch(`${system.urls.tokenService}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: SHOP_CLI_REDIRECT,
        client_id: 'shop-cli',
        code_verifier: verifier,
      }).toString(),
    });
    expect(replay.status).toBe(400);

    // Revoked by the client that holds it.
    const revoked = await fetch(`${system.urls.tokenService}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: 'shop-cli' }).toString(),
    });
    expect(revoked.status).toBe(200);

    // Signed out at the token service: its SSO session ends (and its grants with it).
    const ssoCookies = [...signedIn.cookies.values()];
    const confirm = parseForm(await (await signedIn.fetch(`${system.urls.tokenService}/logout`)).text());
    const signedOut = await signedIn.post(system.urls.tokenService, confirm.action, {
      ...confirm.fields,
      confirm: 'yes',
    });
    expect(signedOut.status).toBe(200);

    const entries = logs.entries();
    // Every part writes, in one format: pino JSON with the part named.
    const services = new Set(entries.map((line) => line.service));
    for (const part of ['tessera-token-service', 'tessera-gateway', 'orders', 'inventory', 'payments']) {
      expect(services, part).toContain(part);
    }
    for (const line of entries)
      expect(typeof line.level === 'number' && typeof line.time === 'number').toBe(true);

    expect(audits(logs, 'login.failed')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-token-service',
        client: 'shop-cli',
        reason: 'ERR_CREDENTIALS_INVALID',
      }),
    );
    expect(audits(logs, 'login.succeeded')).toContainEqual(
      expect.objectContaining({ service: 'tessera-token-service', user: claims.sub, client: 'shop-cli' }),
    );
    expect(audits(logs, 'session.created')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-token-service',
        user: claims.sub,
        session: expect.any(String),
      }),
    );
    expect(audits(logs, 'token.issued')).toContainEqual(
      expect.objectContaining({
        client: 'shop-cli',
        grant: 'authorization_code',
        user: claims.sub,
        jti: claims.jti,
      }),
    );
    expect(audits(logs, 'token.issued')).toContainEqual(
      expect.objectContaining({
        client: 'orders',
        grant: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: 'inventory',
      }),
    );
    expect(audits(logs, 'token.refused')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-token-service',
        client: 'shop-cli',
        grant: 'authorization_code',
        reason: 'ERR_OAUTH_INVALID_GRANT',
      }),
    );
    const refusedBy = new Set(audits(logs, 'token.refused').map((line) => line.service));
    expect(refusedBy).toContain('tessera-gateway');
    expect(refusedBy).toContain('inventory');
    expect(audits(logs, 'token.revoked')).toContainEqual(
      expect.objectContaining({ service: 'tessera-token-service', jti: claims.jti }),
    );
    const created = audits(logs, 'session.created').find((line) => line.service === 'tessera-token-service');
    expect(audits(logs, 'session.ended')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-token-service',
        user: claims.sub,
        session: created?.session,
        reason: 'logout',
      }),
    );

    expectNoSecret(logs, [
      ...secrets,
      token,
      forged,
      code,
      verifier,
      issued.refresh_token ?? '',
      ...browser.cookies.values(),
      ...ssoCookies,
    ]);
  });
});

describe('tessera dev metrics: every part serves /metrics with the exposure it was given', () => {
  let system: DevSystem;
  let dir: string;
  beforeAll(async () => {
    ({ system, dir } = await startWithLogs('session'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a scrape with the token on the token service, the gateway and each shop service', async () => {
    const { urls } = system;
    for (const [part, base, metric] of [
      ['token service', urls.tokenService, 'tessera_tokens_issued_total'],
      ['gateway', urls.gateway, 'tessera_gateway_requests_total'],
      ['orders', urls.orders, 'tessera_service_requests_total'],
      ['inventory', urls.inventory, 'tessera_service_requests_total'],
      ['payments', urls.payments, 'tessera_service_requests_total'],
    ] as const) {
      expect((await fetch(`${base}/metrics`)).status, part).toBe(401);
      const scrape = await fetch(`${base}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(scrape.status, part).toBe(200);
      expect(await scrape.text(), part).toContain(metric);
    }
  });
});

describe('tessera dev logs, session mode: gateway logins and sessions in the audit trail', () => {
  let system: DevSystem;
  let dir: string;
  let logs: LogCapture;
  beforeAll(async () => {
    ({ system, dir, logs } = await startWithLogs('session'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs a failed and a good login, the session created and ended, and no cookie or password', async () => {
    const secrets = seedSecrets(system);
    const browser = new Browser();
    const login = (password: string) =>
      browser.fetch(`${system.urls.gateway}/auth/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username: 'alice', password }),
      });
    expect((await login(WRONG_PASSWORD)).status).toBe(401);
    expect((await login('alice-password')).status).toBe(204);
    const cookies = [...browser.cookies.values()];
    const me = (await (await browser.fetch(`${system.urls.gateway}/auth/me`)).json()) as {
      subject: string;
      csrf_token: string;
    };
    const orders = await browser.fetch(`${system.urls.gateway}/api/orders/orders`);
    expect(orders.status).toBe(200);
    const logout = await browser.fetch(`${system.urls.gateway}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': me.csrf_token },
    });
    expect(logout.status).toBe(204);

    expect(audits(logs, 'login.failed')).toContainEqual(
      expect.objectContaining({ service: 'tessera-gateway', reason: 'ERR_CREDENTIALS_INVALID' }),
    );
    expect(audits(logs, 'login.failed')[0]).not.toHaveProperty('user');
    expect(audits(logs, 'login.succeeded')).toContainEqual(
      expect.objectContaining({ service: 'tessera-gateway', user: me.subject }),
    );
    const created = audits(logs, 'session.created').find((line) => line.user === me.subject);
    expect(created).toMatchObject({
      service: 'tessera-gateway',
      session: expect.stringMatching(/^[\w-]{12}$/),
    });
    expect(audits(logs, 'session.ended')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-gateway',
        user: me.subject,
        session: created?.session,
        reason: 'logout',
      }),
    );
    // The services log their requests too (orders answered the gateway).
    expect(logs.entries().some((line) => line.service === 'orders')).toBe(true);
    expectNoSecret(logs, [...secrets, ...cookies, me.csrf_token, METRICS_TOKEN]);
  });
});

describe('tessera dev logs, hybrid mode: the gateway’s sign-in through the token service', () => {
  let system: DevSystem;
  let dir: string;
  let logs: LogCapture;
  beforeAll(async () => {
    ({ system, dir, logs } = await startWithLogs('hybrid'));
  });
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs the sign-in at both, a replayed callback as a failed login, and no code or cookie', async () => {
    const secrets = seedSecrets(system);
    const { browser, callback: location } = await signInAtGateway(system.urls.gateway);
    const cookies = [...browser.cookies.values()];
    const me = (await (await browser.fetch(`${system.urls.gateway}/auth/me`)).json()) as { subject: string };
    // The same callback again: its sign-in cookie is gone, so it is refused.
    const replay = await browser.fetch(location);
    expect(replay.status).toBe(400);

    expect(audits(logs, 'login.succeeded')).toContainEqual(
      expect.objectContaining({ service: 'tessera-gateway', user: me.subject, client: 'gateway' }),
    );
    expect(audits(logs, 'session.created')).toContainEqual(
      expect.objectContaining({ service: 'tessera-gateway', user: me.subject, session: expect.any(String) }),
    );
    expect(audits(logs, 'token.issued')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-token-service',
        client: 'gateway',
        grant: 'authorization_code',
      }),
    );
    expect(audits(logs, 'login.failed')).toContainEqual(
      expect.objectContaining({
        service: 'tessera-gateway',
        client: 'gateway',
        reason: 'ERR_SIGN_IN_FAILED',
      }),
    );
    expectNoSecret(logs, [...secrets, ...cookies, location.searchParams.get('code') ?? '', METRICS_TOKEN]);
  });
});

describe('tessera dev --pretty (spawned): lines for people', { timeout: 60_000 }, () => {
  const children = new Set<ChildProcess>();
  let tempDir: string;
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  });

  it('prints each part’s lines through pino-pretty, not as JSON', async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'tessera-pretty-'));
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const [gateway, tokenService, orders, inventory, payments] = ports.map(String) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const dev = spawnTessera(
      [
        'dev',
        '--pretty',
        '--mode',
        'session',
        '--dir',
        join(tempDir, '.tessera'),
        '--gateway-port',
        gateway,
        '--token-service-port',
        tokenService,
        '--orders-port',
        orders,
        '--inventory-port',
        inventory,
        '--payments-port',
        payments,
      ],
      { env: { PATH: process.env.PATH ?? '', TESSERA_SECRET: SECRET }, cwd: tempDir, children },
    );
    await dev.waitFor(/Ctrl-C stops every part/, 45_000);
    expect((await fetch(`http://127.0.0.1:${orders}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${gateway}/healthz`)).status).toBe(200);
    await dev.waitFor(/INFO.*request completed[\s\S]*service: "orders"/);
    await dev.waitFor(/INFO.*request[\s\S]*service: "tessera-gateway"/);
    expect(dev.output()).not.toContain('{"level":');
    dev.child.kill('SIGTERM');
    const [code] = (await once(dev.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
