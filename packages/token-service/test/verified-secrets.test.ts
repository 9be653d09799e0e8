import { createDatabase } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { type Harness, startService, TEST_SECRET } from '../../../test/support/token-service/harness.js';
import { openClientRepository } from '../src/admin.js';

const CLIENT_CACHE_TTL_MS = 10_000;
const NEW_SECRET = 'orders-secret-rotated-0123456789abcdef-0123';

// A client secret that matched once is accepted again on its SHA-256 for the client cache's TTL
// (README, "What a token request costs"). These are the ways that must never let a secret through
// that the stored HMAC would refuse: a wrong secret after a right one, a secret changed or a client
// removed here, and a secret changed by another process (the CLI) once the client cache has
// re-read the client.
describe.each(databases)('verified client secrets on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let admin: Kysely<unknown>;
  let offset = 0;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      clientCacheTtlMs: CLIENT_CACHE_TTL_MS,
      now: () => Date.now() + offset,
    });
    admin = await createDatabase(database.config);
  });
  beforeEach(async () => {
    offset = 0;
    await harness.service.clients.upsert(orders);
  });
  afterAll(async () => {
    await admin?.destroy();
    await harness?.stop();
    await database?.cleanup();
  });

  async function token(secret: string, method: 'basic' | 'post' = 'basic'): Promise<number> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (method === 'basic') headers.authorization = basic('orders', secret);
    else {
      body.set('client_id', 'orders');
      body.set('client_secret', secret);
    }
    const response = await fetch(`${harness.url}/token`, { method: 'POST', headers, body: body.toString() });
    await response.arrayBuffer();
    return response.status;
  }

  it('a wrong secret right after the right one is refused, by either secret method', async () => {
    expect(await token(ORDERS_SECRET)).toBe(200);
    expect(await token(`${ORDERS_SECRET}x`)).toBe(401);
    expect(await token(ORDERS_SECRET.slice(0, -1))).toBe(401);
    expect(await token('')).toBe(401);
    expect(await token(`${ORDERS_SECRET}x`, 'post')).toBe(401);
    // Still accepted after the refusals: a wrong secret does not displace the verified one's entry.
    expect(await token(ORDERS_SECRET, 'post')).toBe(200);
    expect(await token(ORDERS_SECRET)).toBe(200);
  });

  it('a secret changed through service.clients stops working at once, and the new one works', async () => {
    expect(await token(ORDERS_SECRET)).toBe(200);
    await harness.service.clients.upsert({ ...orders, client_secret: NEW_SECRET });
    expect(await token(ORDERS_SECRET)).toBe(401);
    expect(await token(NEW_SECRET)).toBe(200);
    expect(await token(ORDERS_SECRET, 'post')).toBe(401);
  });

  it('a client removed through service.clients is refused at once', async () => {
    expect(await token(ORDERS_SECRET)).toBe(200);
    expect(await harness.service.clients.remove('orders')).toBe(true);
    expect(await token(ORDERS_SECRET)).toBe(401);
  });

  it('a secret changed by another process stops working once the client cache re-reads the client', async () => {
    // The client is read (and cached) at 0 by a refused request; the right secret is verified at
    // half the TTL, so its entry outlives the cached client by half a TTL.
    expect(await token('not-the-secret')).toBe(401);
    offset = CLIENT_CACHE_TTL_MS / 2;
    expect(await token(ORDERS_SECRET)).toBe(200);
    await openClientRepository({ database: admin, secret: TEST_SECRET }).upsert({
      ...orders,
      client_secret: NEW_SECRET,
    });
    // Until then the cached client is used, as for any other change by another process (README).
    expect(await token(ORDERS_SECRET)).toBe(200);
    offset = CLIENT_CACHE_TTL_MS + 1;
    // The client is read again: the old secret's entry names the old HMAC, which is no more.
    expect(await token(ORDERS_SECRET)).toBe(401);
    expect(await token(NEW_SECRET)).toBe(200);
  });

  it('a client removed by another process is refused once the client cache re-reads it', async () => {
    expect(await token(ORDERS_SECRET)).toBe(200);
    expect(await openClientRepository({ database: admin, secret: TEST_SECRET }).remove('orders')).toBe(true);
    offset = CLIENT_CACHE_TTL_MS + 1;
    expect(await token(ORDERS_SECRET)).toBe(401);
  });

  it('A178: a client cached for many TTLs still stops working within one TTL of a secret rotated, or of its removal, by another process', async () => {
    const other = openClientRepository({ database: admin, secret: TEST_SECRET });
    expect(await token(ORDERS_SECRET)).toBe(200);
    // Nothing written: the client and its verified secret stay cached past the TTL (README, "Scale").
    offset = 3 * CLIENT_CACHE_TTL_MS;
    expect(await token(ORDERS_SECRET)).toBe(200);
    await other.upsert({ ...orders, client_secret: NEW_SECRET });
    offset = 4 * CLIENT_CACHE_TTL_MS + 1;
    expect(await token(ORDERS_SECRET)).toBe(401);
    expect(await token(NEW_SECRET)).toBe(200);
    offset = 7 * CLIENT_CACHE_TTL_MS;
    expect(await token(NEW_SECRET)).toBe(200);
    expect(await other.remove('orders')).toBe(true);
    offset = 8 * CLIENT_CACHE_TTL_MS + 1;
    expect(await token(NEW_SECRET)).toBe(401);
  });

  it('a write to one client by another process forgets that client only, within one TTL', async () => {
    expect(await token(ORDERS_SECRET)).toBe(200);
    // A row deleted around ClientRepository raises no generation, so the cached client is used on
    // past the TTL: this is what shows the cache no longer re-reads a client per TTL.
    await admin
      .deleteFrom('oauth_clients' as never)
      .where('client_id' as never, '=', 'orders' as never)
      .execute();
    offset = 2 * CLIENT_CACHE_TTL_MS;
    expect(await token(ORDERS_SECRET)).toBe(200);
    const other = openClientRepository({ database: admin, secret: TEST_SECRET });
    await other.upsert({ ...orders, client_id: 'orders-neighbour' });
    try {
      offset = 3 * CLIENT_CACHE_TTL_MS + 1;
      expect(await token(ORDERS_SECRET)).toBe(200);
      // Its removal through a repository names it, though its row was gone already.
      expect(await other.remove('orders')).toBe(false);
      offset = 4 * CLIENT_CACHE_TTL_MS + 2;
      expect(await token(ORDERS_SECRET)).toBe(401);
    } finally {
      await other.remove('orders-neighbour');
    }
  });

  it('an instance further behind than the record of changes (a day) reads every client again', async () => {
    expect(await token(ORDERS_SECRET)).toBe(200);
    await openClientRepository({ database: admin, secret: TEST_SECRET }).upsert({
      ...orders,
      client_secret: NEW_SECRET,
    });
    // A write two days on drops the record of the rotation above.
    const later = openClientRepository({
      database: admin,
      secret: TEST_SECRET,
      now: () => Date.now() + 2 * 24 * 60 * 60 * 1000,
    });
    await later.upsert({ ...orders, client_id: 'orders-neighbour' });
    try {
      offset = CLIENT_CACHE_TTL_MS + 1;
      expect(await token(ORDERS_SECRET)).toBe(401);
      expect(await token(NEW_SECRET)).toBe(200);
    } finally {
      await later.remove('orders-neighbour');
    }
  });
});
