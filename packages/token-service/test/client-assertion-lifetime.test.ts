import { randomUUID } from 'node:crypto';
import { MemoryStore } from '@tessera/storage';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { billingClient, type KeyedClient } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

// How long a private_key_jwt assertion may live: libraries such as Python's authlib sign them for
// an hour by default; the bound is an option, and each jti is remembered until its exp.
describe.each(databases)('private_key_jwt assertion lifetime on $name (docs/security.md A116)', (fixture) => {
  let database: TestDatabase;
  let billing: KeyedClient;
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  let store: MemoryStore;
  let standard: Harness;
  let bounded: Harness;

  beforeAll(async () => {
    database = await fixture.create();
    billing = await billingClient();
    // The replay store follows the same clock, so remembering "until exp" can be checked.
    store = new MemoryStore({ prefix: 'assertion-lifetime:', now });
    standard = await startService(database, { clients: [billing.registration], now, store });
    bounded = await startService(database, { now, store, clientAssertionMaxLifetime: 300 });
  });
  afterAll(async () => {
    await bounded?.stop();
    await standard?.stop();
    await store?.close();
    await database?.cleanup();
  });

  async function assertion(harness: Harness, lifetimeS: number): Promise<string> {
    const nowS = Math.floor(now() / 1000);
    return new SignJWT({ iss: 'billing', sub: 'billing', aud: `${harness.url}/token`, jti: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'billing-1' })
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + lifetimeS)
      .sign(billing.privateKey);
  }

  async function tokenStatus(harness: Harness, jwt: string): Promise<{ status: number; error?: string }> {
    const response = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: jwt,
      }).toString(),
    });
    const body = (await response.json()) as { error?: string };
    return body.error === undefined
      ? { status: response.status }
      : { status: response.status, error: body.error };
  }

  it('an assertion living an hour is accepted once; its jti is remembered until its exp', async () => {
    const hour = await assertion(standard, 3600);
    expect(await tokenStatus(standard, hour)).toEqual({ status: 200 });
    expect(await tokenStatus(standard, hour)).toEqual({ status: 401, error: 'invalid_client' });
    const start = offsetMs;
    try {
      // 59 minutes later the assertion has not expired, and is still a replay.
      offsetMs = start + 59 * 60_000;
      expect(await tokenStatus(standard, hour)).toEqual({ status: 401, error: 'invalid_client' });
    } finally {
      offsetMs = start;
    }
  });

  it('an assertion living beyond the bound is refused with invalid_client', async () => {
    expect(await tokenStatus(standard, await assertion(standard, 3600 + 60))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    expect(await tokenStatus(standard, await assertion(standard, 2 * 86_400))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    // clientAssertionMaxLifetime narrows it.
    expect(await tokenStatus(bounded, await assertion(bounded, 300))).toEqual({ status: 200 });
    expect(await tokenStatus(bounded, await assertion(bounded, 600))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
  });
});
