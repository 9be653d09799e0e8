import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { RedisStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm } from '../../../test/support/browser.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { LogCapture } from '../../../test/support/logs.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { createGateway } from '../src/app.js';
import { type GatewayConfigInput, parseGatewayConfig } from '../src/config.js';

// The two login doors onto one user directory: the gateway's POST /auth/login (session mode) and
// the token service's login form. On one store they share each user's budget. And the client's
// address is taken from X-Forwarded-For only when the peer is a listed trustProxy.

const ordersKey = { id: 'k1', secret: randomBytes(32).toString('base64url') };
const redisPrefix = randomPrefix('gateway:login-limits');

function gatewayConfig(database: TestDatabase, extra: Partial<GatewayConfigInput> = {}) {
  return parseGatewayConfig({
    session: {
      store: { type: 'redis', url: REDIS_URL, keyPrefix: redisPrefix },
      insecureHttpLocalhost: true,
    },
    identity: { database: `sqlite:${(database.config as { filename: string }).filename}` },
    // The upstream is never called: only /auth/login is used here.
    routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:9', auth: 'session', audience: 'orders' }],
    ...extra,
  });
}

async function startGateway(
  config: ReturnType<typeof parseGatewayConfig>,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createGateway(config, {
    sessionReferenceKeys: { orders: ordersKey },
    logDestination: new LogCapture(),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://localhost:${(app.server.address() as AddressInfo).port}` };
}

async function gatewayLogin(url: string, username: string, password: string, forwardedFor?: string) {
  const answer = await request(`${url}/auth/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
    body: JSON.stringify({ username, password }),
  });
  await answer.body.text();
  return answer.statusCode;
}

async function tokenServiceLogin(harness: Harness, username: string, password: string): Promise<number> {
  const browser = new Browser();
  const params = new URLSearchParams({
    client_id: 'shop-web',
    redirect_uri: 'http://127.0.0.1:8080/auth/callback',
    response_type: 'code',
    scope: 'openid',
    code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const page = await browser.fetch(`${harness.url}/authorize?${params}`);
  const { action, fields } = parseForm(await page.text());
  const answer = await browser.post(harness.url, action, { ...fields, username, password, action: 'login' });
  await answer.arrayBuffer();
  return answer.status;
}

describe('one login budget per user across the gateway and the token service on one Redis (docs/security.md H105)', () => {
  let database: TestDatabase;
  let store: RedisStore;
  let harness: Harness;
  let gateway: { app: FastifyInstance; url: string };

  beforeAll(async () => {
    database = await sqlite.create();
    store = new RedisStore({ url: REDIS_URL, prefix: redisPrefix });
    harness = await startService(database, { store, clients: [shopWeb] });
    await addAlice(harness.service);
    gateway = await startGateway(gatewayConfig(database));
  });
  afterAll(async () => {
    await gateway?.app.close();
    await harness?.stop();
    await store?.close();
    await deleteKeysWithPrefix(redisPrefix);
    await database?.cleanup();
  });

  it('locks the user at both doors after five failures split across them', async () => {
    // Both doors work for alice to begin with (a success resets her count).
    expect(await gatewayLogin(gateway.url, 'alice', ALICE_PASSWORD)).toBe(204);
    for (let i = 0; i < 3; i += 1) expect(await gatewayLogin(gateway.url, 'alice', 'wrong')).toBe(401);
    for (let i = 0; i < 2; i += 1) expect(await tokenServiceLogin(harness, 'Alice', 'wrong')).toBe(401);
    // The fifth failure locked her: the right password is refused at either door.
    expect(await gatewayLogin(gateway.url, 'alice', ALICE_PASSWORD)).toBe(429);
    expect(await tokenServiceLogin(harness, 'alice', ALICE_PASSWORD)).toBe(429);
  });
});

describe("the gateway's trustProxy and the per-address login limit", () => {
  let database: TestDatabase;
  const memory = { session: { store: { type: 'memory' as const }, insecureHttpLocalhost: true } };

  beforeAll(async () => {
    database = await sqlite.create();
    // The directory's tables, made by a token service's start, and no user: every login fails.
    const harness = await startService(database);
    await harness.stop();
  });
  afterAll(async () => {
    await database?.cleanup();
  });

  async function lockAddress(url: string, client: string): Promise<void> {
    for (let i = 0; i < 20; i += 1) expect(await gatewayLogin(url, `guess-${i}`, 'wrong', client)).toBe(401);
    expect(await gatewayLogin(url, 'guess-last', 'wrong', client)).toBe(429);
  }

  it("with trustProxy ['127.0.0.1'], two clients behind the proxy have their own budgets", async () => {
    const gateway = await startGateway(gatewayConfig(database, { ...memory, trustProxy: ['127.0.0.1'] }));
    try {
      await lockAddress(gateway.url, '203.0.113.1');
      expect(await gatewayLogin(gateway.url, 'someone', 'wrong', '203.0.113.2')).toBe(401);
    } finally {
      await gateway.app.close();
    }
  });

  it('without trustProxy, X-Forwarded-For is ignored: the peer is the client', async () => {
    const gateway = await startGateway(gatewayConfig(database, memory));
    try {
      await lockAddress(gateway.url, '203.0.113.1');
      expect(await gatewayLogin(gateway.url, 'someone', 'wrong', '203.0.113.2')).toBe(429);
    } finally {
      await gateway.app.close();
    }
  });
});
