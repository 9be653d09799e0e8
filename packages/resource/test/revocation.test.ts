import { parseRevocationEvent, REVOCATION_TOPIC } from '@tessera/core';
import { RedisChannel } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { createServiceClient } from '../src/client/service-client.js';
import { bearer } from '../src/identity/bearer.js';
import { DenyList } from '../src/revocation/deny-list.js';
import { type Revocations, subscribeRevocations } from '../src/revocation/subscribe.js';
import { createVerifier } from '../src/verify/verifier.js';
import { bearerHeader, call, startService } from './support/service.js';
import { clients, type RealTokenService, startTokenService } from './support/token-service.js';

// The real token service and a service on this library share a Redis channel (random prefix):
// /revoke publishes, the service's deny-list refuses.

let ts: RealTokenService;
let publisher: RedisChannel;
let subscriber: RedisChannel;
let revocations: Revocations;
let app: FastifyInstance;
let url: string;
const prefix = randomPrefix('resource:revocation');

beforeAll(async () => {
  publisher = new RedisChannel({ url: REDIS_URL, prefix });
  subscriber = new RedisChannel({ url: REDIS_URL, prefix });
  ts = await startTokenService(publisher);
  // The default topic: every test below proves it is the one the token service publishes on.
  revocations = await subscribeRevocations(subscriber, undefined, { issuer: ts.url });
  const verifier = await createVerifier({ issuer: ts.url, audience: 'inventory', cache: true, revocations });
  const service = await startService(bearer(verifier));
  app = service.app;
  url = service.url;
});

afterAll(async () => {
  await app?.close();
  await revocations?.close();
  await ts?.stop();
  await subscriber?.close();
  await publisher?.close();
  // The topic's stream.
  await deleteKeysWithPrefix(prefix);
});

describe('revocation events', () => {
  it('from a /revoke call to the first refused request: under one second (cached token)', async () => {
    const own = createServiceClient({
      tokenEndpoint: ts.service.endpoints.token,
      clientId: 'orders',
      clientSecret: clients.orders.client_secret,
    });
    // The client's token, as the service sees it (and caches it as verified).
    const probe = await own(`${url}/orders`, { audience: 'inventory', scope: ['inventory:read'] });
    expect(probe.status).toBe(200);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      audience: 'inventory',
      scope: 'inventory:read',
    });
    const basic = `Basic ${Buffer.from(`orders:${clients.orders.client_secret}`).toString('base64')}`;
    const issued = await fetch(ts.service.endpoints.token, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    const token = ((await issued.json()) as { access_token: string }).access_token;
    expect((await call(`${url}/orders`, bearerHeader(token))).status).toBe(200);

    const started = performance.now();
    const revoke = fetch(ts.service.endpoints.revocation, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    let attempts = 0;
    while (refused === undefined && performance.now() - started < 5_000) {
      const answer = await call(`${url}/orders`, bearerHeader(token));
      attempts++;
      if (answer.status !== 200) refused = answer;
    }
    const elapsed = performance.now() - started;
    expect((await revoke).status).toBe(200);
    console.log(
      `revoke-to-reject: ${elapsed.toFixed(1)} ms (${attempts} requests; real token service, Redis stream)`,
    );
    expect(refused?.status).toBe(401);
    expect(refused?.body).toMatchObject({ error: 'invalid_token', code: 'ERR_TOKEN_REVOKED' });
    expect(elapsed).toBeLessThan(1_000);
  });

  it('a user revocation (kind sub) refuses every token of the user until `until`, then the entry goes', async () => {
    const user = ts.userToken(['inventory'], []);
    expect((await call(`${url}/orders`, bearerHeader(user.token))).status).toBe(200);
    const until = Math.floor(Date.now() / 1000) + 300;
    await publisher.publish(REVOCATION_TOPIC, JSON.stringify({ kind: 'sub', value: 'alice', until }));
    let status = 200;
    for (let i = 0; i < 200 && status === 200; i++)
      status = (await call(`${url}/orders`, bearerHeader(user.token))).status;
    expect(status).toBe(401);
    const fresh = ts.userToken(['inventory'], []);
    expect((await call(`${url}/orders`, bearerHeader(fresh.token))).status).toBe(401);
  });

  it('ignores malformed events', async () => {
    const before = revocations.list.size;
    for (const message of [
      'nope',
      '[]',
      '{"kind":"jti"}',
      '{"kind":"all","value":"x","until":9999999999}',
      '{"kind":"jti","value":"","until":1}',
    ]) {
      await publisher.publish(REVOCATION_TOPIC, message);
      expect(parseRevocationEvent(message)).toBeUndefined();
    }
    await publisher.publish(
      REVOCATION_TOPIC,
      JSON.stringify({ kind: 'sid', value: 'marker', until: 9_999_999_999 }),
    );
    for (let i = 0; i < 100 && revocations.list.size === before; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(revocations.list.size).toBe(before + 1);
  });
});

describe('deny-list pruning (injected clock)', () => {
  it('drops entries past `until`, and an entry never outlives it even before a prune', () => {
    let clock = 1_000_000_000_000;
    const list = new DenyList({ issuer: 'https://issuer', now: () => clock });
    list.add({ kind: 'client', value: 'orders', until: clock / 1000 + 60 });
    list.add({ kind: 'jti', value: 'old', until: clock / 1000 - 1 });
    expect(list.size).toBe(1);
    const principal = {
      subject: 'orders',
      clientId: 'orders',
      scopes: [],
      audience: ['inventory'],
      issuer: 'https://issuer',
      tokenId: 'x',
      expiresAt: clock / 1000 + 300,
      issuedAt: clock / 1000,
      actors: [],
      claims: {},
    };
    expect(list.match(principal)).toBe('client');
    clock += 61_000;
    expect(list.match(principal)).toBeUndefined();
    expect(list.prune()).toBe(1);
    expect(list.size).toBe(0);
  });
});
