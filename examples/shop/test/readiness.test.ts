import { randomBytes } from 'node:crypto';
import { KeySet } from '@tessera/core';
import { createSessionReferences, SESSION_REFERENCE_HEADER } from '@tessera/resource/session';
import { createSessionManager } from '@tessera/session';
import { RedisStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIssuer } from '../../../test/support/issuer.js';
import { LogCapture } from '../../../test/support/logs.js';
import { expectReadinessFollowsRedis, readiness } from '../../../test/support/readiness.js';
import { freePort, PrivateRedisServer } from '../../../test/support/redis-server.js';
import { sessionAuth, tokenAuth } from '../src/auth.js';
import { createInventoryService } from '../src/inventory.js';

async function listening(app: FastifyInstance): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

// Session mode on a private redis-server, frozen (SIGSTOP), thawed, killed and started again;
// the shared server on 6379 is never touched.
describe('inventory in session mode on a private redis-server', () => {
  let server: PrivateRedisServer;
  let store: RedisStore;
  let app: FastifyInstance;
  let base: string;
  const logs = new LogCapture();
  // The gateway's key for the edge gateway -> inventory; inventory accepts it.
  const key = { id: 'k1', secret: randomBytes(32).toString('base64url') };
  const gateway = createSessionReferences({ self: 'gateway', mint: { inventory: key } });
  let manager: ReturnType<typeof createSessionManager>;

  beforeAll(async () => {
    server = new PrivateRedisServer(await freePort());
    await server.start();
    // The store's own timeout far beyond the test's: only the deadlines of the session manager
    // and of the readiness probe can end a call to the frozen server.
    store = new RedisStore({ redis: { host: '127.0.0.1', port: server.port }, commandTimeoutMs: 120_000 });
    manager = createSessionManager({ store, storeTimeoutMs: 500 });
    app = await createInventoryService({
      auth: sessionAuth({ manager, keys: { inventory: { accept: { gateway: [key] }, mint: {} } } }),
      logger: pino({ level: 'trace' }, logs),
    });
    base = await listening(app);
  });
  afterAll(async () => {
    server.resume();
    await app?.close();
    await store?.close();
    await server?.kill();
  });

  it('is ready, not ready while Redis is frozen or gone (liveness unaffected), and ready again after', async () => {
    await expectReadinessFollowsRedis(server, base, {
      ready: { status: 'ok', checks: { 'session store': 'ok' } },
      frozen: { status: 'unavailable', checks: { 'session store': 'unavailable' } },
    });
  });

  it('logs a 400, 401 or 404 below error level, and a 503 (the store frozen) at error level', async () => {
    const { session } = await manager.create('alice-id', {});
    const items = () =>
      fetch(`${base}/items`, {
        headers: { [SESSION_REFERENCE_HEADER]: gateway.mint(session.idHash, [], 'inventory', 'GET /items') },
      });
    expect((await items()).status).toBe(200);
    expect((await fetch(`${base}/items`)).status).toBe(401);
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
    const malformed = await fetch(`${base}/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"item":',
    });
    expect(malformed.status).toBe(400);
    expect(logs.levels().filter((level) => level >= 50)).toEqual([]);

    server.pause();
    try {
      expect((await items()).status).toBe(503);
    } finally {
      server.resume();
    }
    expect(logs.levels().filter((level) => level >= 50).length).toBeGreaterThan(0);
  });
});

describe('inventory in token mode', () => {
  it('is ready with keys (in-process, or cached from the JWKS); not ready with none', async () => {
    const inProcess = await createInventoryService({
      auth: tokenAuth({ issuer: 'http://127.0.0.1:9', keys: await KeySet.generate() }),
    });
    const issuer = await startIssuer(['EdDSA']);
    const cached = await createInventoryService({ auth: tokenAuth({ issuer: issuer.url }) });
    issuer.behaviour = 'down';
    const none = await createInventoryService({ auth: tokenAuth({ issuer: issuer.url }) });
    try {
      const ok = { status: 200, body: { status: 'ok', checks: { 'signing keys': 'ok' } } };
      expect(await readiness(await listening(inProcess))).toEqual(ok);
      // The JWKS is unreachable now; the keys fetched at start still verify.
      expect(await readiness(await listening(cached))).toEqual(ok);
      expect(await readiness(await listening(none))).toEqual({
        status: 503,
        body: { status: 'unavailable', checks: { 'signing keys': 'unavailable' } },
      });
    } finally {
      await inProcess.close();
      await cached.close();
      await none.close();
      await issuer.close();
    }
  });
});
