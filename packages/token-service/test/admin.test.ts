import { createDatabase } from '@tessera/storage/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { type Harness, startService, TEST_SECRET } from '../../../test/support/token-service/harness.js';
import { openClientRepository, openKeyManager } from '../src/admin.js';

// What `tessera clients ...` and `tessera keys rotate` do: another process on the same database.
describe.each(databases)('admin helpers beside a running service on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clientCacheTtlMs: 0 });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  it('a client added by the admin repository authenticates at the service', async () => {
    const db = await createDatabase(database.config);
    try {
      const clients = openClientRepository({ database: db, secret: TEST_SECRET });
      await clients.register(orders);
      expect((await clients.list()).map((client) => client.client_id)).toEqual(['orders']);
      const response = await fetch(`${harness.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('orders', ORDERS_SECRET),
        },
        body: 'grant_type=client_credentials',
      });
      expect(response.status).toBe(200);
    } finally {
      await db.destroy();
    }
  });

  it('a rotation by the admin key manager is published by the service after its reload', async () => {
    const db = await createDatabase(database.config);
    try {
      const keys = await openKeyManager({ database: db, secret: TEST_SECRET });
      expect(keys.keySet.activeKey('EdDSA').kid).toBe(harness.service.keys.keySet.activeKey('EdDSA').kid);
      const { next } = await keys.rotate('EdDSA');
      await harness.service.keys.reload();
      const jwks = (await (await fetch(`${harness.url}/jwks`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid)).toContain(next);
      await keys.promote('EdDSA');
      await harness.service.keys.reload();
      expect(harness.service.keys.keySet.activeKey('EdDSA').kid).toBe(next);
    } finally {
      await db.destroy();
    }
  });

  it('the admin key manager with another secret fails clearly', async () => {
    const db = await createDatabase(database.config);
    try {
      await expect(openKeyManager({ database: db, secret: 'x'.repeat(40) })).rejects.toMatchObject({
        code: 'ERR_SIGNING_KEY_UNREADABLE',
      });
    } finally {
      await db.destroy();
    }
  });
});
