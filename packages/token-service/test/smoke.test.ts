import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from './support/databases.js';
import { type Harness, startService } from './support/harness.js';

describe.each(databases)('smoke on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      clients: [
        {
          client_id: 'orders',
          client_secret: 'orders-secret-0123456789abcdef-0123',
          grant_types: ['client_credentials'],
          scopes: ['inventory:reserve'],
          audiences: ['inventory'],
        },
      ],
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  it('issues a token', async () => {
    const response = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('orders:orders-secret-0123456789abcdef-0123').toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const body = await response.json();
    expect(response.status).toBe(200);
  });
});
