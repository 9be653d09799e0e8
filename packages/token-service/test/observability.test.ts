import { RedisChannel, RedisStore } from '@tessera/storage';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { LogCapture } from '../../../test/support/logs.js';
import { expectReadinessFollowsRedis } from '../../../test/support/readiness.js';
import { freePort, PrivateRedisServer } from '../../../test/support/redis-server.js';
import { basic, ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

const sqlite = databases[0];
if (sqlite === undefined) throw new Error('no sqlite fixture');

// A private redis-server as the token service's store, frozen (SIGSTOP), thawed, killed and
// started again; the shared server on 6379 is never touched.
describe('readiness on a private redis-server (docs/security.md L111)', () => {
  let server: PrivateRedisServer;
  let store: RedisStore;
  let channel: RedisChannel;
  let database: TestDatabase;
  let harness: Harness;

  beforeAll(async () => {
    server = new PrivateRedisServer(await freePort());
    await server.start();
    // The store's own timeout far beyond the test's: only the readiness deadline can end a probe
    // of the frozen server, so an answer at all shows /readyz is bounded.
    store = new RedisStore({ redis: { host: '127.0.0.1', port: server.port }, commandTimeoutMs: 120_000 });
    channel = new RedisChannel({
      redis: { host: '127.0.0.1', port: server.port },
      commandTimeoutMs: 120_000,
    });
    database = await sqlite.create();
    harness = await startService(database, { store, channel });
  });
  afterAll(async () => {
    server.resume();
    await harness?.stop();
    await store?.close();
    await channel?.close();
    await server?.kill();
    await database?.cleanup();
  });

  it('is ready, not ready while Redis is frozen or gone (liveness unaffected), and ready again after', async () => {
    const { down } = await expectReadinessFollowsRedis(server, harness.url, {
      ready: { status: 'ok', checks: { database: 'ok', store: 'ok', channel: 'ok' } },
      frozen: { status: 'unavailable', checks: { database: 'ok', store: 'timeout', channel: 'timeout' } },
    });
    expect((down as { checks: Record<string, string> }).checks.database).toBe('ok');
  });
});

describe('metrics exposure (docs/security.md L112)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await sqlite.create();
  });
  afterAll(async () => {
    await database?.cleanup();
  });

  it('unset: /metrics is not served on the public port', async () => {
    const harness = await startService(database);
    try {
      expect((await fetch(`${harness.url}/metrics`)).status).toBe(404);
    } finally {
      await harness.stop();
    }
  });

  it('listen: only the separate listener serves /metrics; the public port answers 404', async () => {
    const port = await freePort();
    const harness = await startService(database, { metrics: { listen: { host: '127.0.0.1', port } } });
    try {
      expect((await fetch(`${harness.url}/metrics`)).status).toBe(404);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toContain('tessera_tokens_issued_total');
      expect((await fetch(`http://127.0.0.1:${port}/token`)).status).toBe(404);
    } finally {
      await harness.stop();
    }
    // Closed with the service.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('bearerToken: 401 without or with a wrong token, 200 with it', async () => {
    const bearerToken = 'metrics-token-0123456789abcdef-0123456789';
    const harness = await startService(database, { metrics: { bearerToken } });
    try {
      const none = await fetch(`${harness.url}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await none.text()).not.toContain('tessera_');
      const wrong = await fetch(`${harness.url}/metrics`, {
        headers: { authorization: `Bearer ${bearerToken}x` },
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${harness.url}/metrics`, {
        headers: { authorization: `Bearer ${bearerToken}` },
      });
      expect(right.status).toBe(200);
      expect(await right.text()).toContain('tessera_tokens_issued_total');
    } finally {
      await harness.stop();
    }
  });

  it('refuses a bearer token shorter than 32 characters', async () => {
    await expect(startService(database, { metrics: { bearerToken: 'short' } })).rejects.toMatchObject({
      code: 'ERR_INVALID_TOKEN_SERVICE_OPTIONS',
      message: 'option metrics.bearerToken: at least 32 characters',
    });
  });
});

describe('log levels (docs/security.md L113)', () => {
  it('a 400, 401 or 404 writes no line at error level; a 5xx does', async () => {
    const database = await sqlite.create();
    const logs = new LogCapture();
    const harness = await startService(database, {
      logger: pino({ level: 'trace' }, logs),
      clients: [orders],
      clientCacheTtlMs: 0,
    });
    try {
      const token = (authorization: string, body: string) =>
        fetch(`${harness.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
          body,
        });
      expect((await token(basic('orders', ORDERS_SECRET), 'grant_type=password')).status).toBe(400);
      expect((await token(basic('orders', 'wrong'), 'grant_type=client_credentials')).status).toBe(401);
      expect((await fetch(`${harness.url}/nothing-here`)).status).toBe(404);
      expect((await fetch(`${harness.url}/userinfo`)).status).toBe(401);
      expect(logs.levels().filter((level) => level >= 50)).toEqual([]);

      await harness.db.destroy();
      const failed = await token(basic('orders', ORDERS_SECRET), 'grant_type=client_credentials');
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(logs.levels().filter((level) => level >= 50).length).toBeGreaterThan(0);
    } finally {
      await harness.stop().catch(() => {});
      await database.cleanup();
    }
  });
});
