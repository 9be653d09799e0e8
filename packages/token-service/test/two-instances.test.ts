import { randomBytes } from 'node:crypto';
import { REVOCATION_TOPIC } from '@tessera/core';
import { RedisChannel, RedisStore } from '@tessera/storage';
import type { TokenService } from '@tessera/token-service';
import { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { postgres, type TestDatabase } from '../../../test/support/databases.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import {
  basic,
  billingClient,
  type KeyedClient,
  ORDERS_SECRET,
  orders,
  shopWeb,
} from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
// One random prefix for this file: both instances share it (that is the point), no other test sees it.
const PREFIX = randomPrefix('two-instances');
const CLIENT_CACHE_TTL_MS = 60_000;

interface Instance {
  readonly url: string;
  readonly service: TokenService;
  /** Moves this instance's clock (its client cache, token times); negative moves it back. */
  advance(ms: number): void;
  stop(): Promise<void>;
}

/**
 * One instance of the service as a process would run it: its own HTTP server, its own database
 * pool, Redis store and Redis channel, on the schema and the Redis prefix every instance shares.
 */
async function startInstance(database: TestDatabase, sharedIssuer?: string): Promise<Instance> {
  const store = new RedisStore({ url: REDIS_URL, prefix: PREFIX });
  const channel = new RedisChannel({ url: REDIS_URL, prefix: PREFIX });
  const closeShared = async () => {
    await store.close();
    await channel.close();
  };
  let offset = 0;
  let harness: Harness;
  try {
    harness = await startService(database, {
      // Behind a load balancer every instance has the same issuer; here the second one takes the
      // first one's, and each is reached at its own port.
      ...(sharedIssuer === undefined ? {} : { issuer: sharedIssuer }),
      store,
      channel,
      clientCacheTtlMs: CLIENT_CACHE_TTL_MS,
      keyReloadIntervalMs: 100,
      now: () => Date.now() + offset,
    });
  } catch (error) {
    await closeShared();
    throw error;
  }
  return {
    url: harness.url,
    service: harness.service,
    advance(ms) {
      offset += ms;
    },
    async stop() {
      await harness.stop();
      await closeShared();
    },
  };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

async function token(base: string, body: Record<string, string>, authorization?: string) {
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: form(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('two instances on one PostgreSQL schema and one Redis', () => {
  let database: TestDatabase;
  let a: Instance;
  let b: Instance;
  let billing: KeyedClient;

  beforeAll(async () => {
    database = await postgres.create();
    a = await startInstance(database);
    b = await startInstance(database, a.service.issuer);
    billing = await billingClient();
    await a.service.clients.upsert(orders);
    await a.service.clients.upsert(billing.registration);
    await a.service.clients.upsert(shopWeb);
    await addAlice(a.service);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.cleanup();
    await deleteKeysWithPrefix(PREFIX);
  });

  it('share their signing keys: a token issued by one verifies with the JWKS of the other', async () => {
    const issued = await token(a.url, { grant_type: 'client_credentials' }, basic('orders', ORDERS_SECRET));
    expect(issued.status).toBe(200);
    const { payload, protectedHeader } = await jwtVerify(
      issued.body.access_token as string,
      createRemoteJWKSet(new URL(`${b.url}/jwks`)),
      { issuer: a.url, typ: 'at+jwt', algorithms: ['EdDSA'] },
    );
    expect(payload.client_id).toBe('orders');
    expect(protectedHeader.kid).toBe(b.service.keys.keySet.activeKey('EdDSA').kid);
  });

  it('a client added through one is seen by the other within its client cache TTL', async () => {
    const late = {
      client_id: 'late',
      client_secret: 'late-secret-0123456789abcdef-0123456789',
      scopes: ['x'],
      audiences: ['inventory'],
    };
    const ask = (base: string) =>
      token(base, { grant_type: 'client_credentials' }, basic('late', late.client_secret));
    // B looks the unknown id up and caches the miss.
    expect((await ask(b.url)).status).toBe(401);
    await a.service.clients.register(late);
    // A wrote it, so A sees it at once; B keeps its cached answer until the TTL ends (README).
    expect((await ask(a.url)).status).toBe(200);
    expect((await ask(b.url)).status).toBe(401);
    b.advance(CLIENT_CACHE_TTL_MS + 1);
    try {
      expect((await ask(b.url)).status).toBe(200);
    } finally {
      // Back to the shared time: codes and tokens are checked against each instance's clock.
      b.advance(-(CLIENT_CACHE_TTL_MS + 1));
    }
  });

  it('a key rotated on one is published by the other after its reload interval, and then signs there', async () => {
    const before = await token(a.url, { grant_type: 'client_credentials' }, basic('orders', ORDERS_SECRET));
    const { next } = await a.service.keys.rotate('EdDSA');
    const jwks = async (base: string) =>
      ((await (await fetch(`${base}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map(
        (key) => key.kid,
      );
    await expect.poll(() => jwks(b.url), { timeout: 5000, interval: 50 }).toContain(next);
    await a.service.keys.promote('EdDSA');
    await expect
      .poll(() => b.service.keys.keySet.activeKey('EdDSA').kid, { timeout: 5000, interval: 50 })
      .toBe(next);
    const issued = await token(b.url, { grant_type: 'client_credentials' }, basic('orders', ORDERS_SECRET));
    const header = JSON.parse(
      Buffer.from((issued.body.access_token as string).split('.')[0] as string, 'base64url').toString(),
    ) as { kid: string };
    expect(header.kid).toBe(next);
    // docs/security.md D73: during the overlap, tokens of the old and of the new key both verify
    // with the JWKS either instance publishes.
    for (const base of [a.url, b.url]) {
      const jwks = createRemoteJWKSet(new URL(`${base}/jwks`));
      for (const accessToken of [before.body.access_token, issued.body.access_token] as string[]) {
        await expect(jwtVerify(accessToken, jwks, { issuer: a.service.issuer })).resolves.toBeDefined();
      }
    }
  });

  it('a private_key_jwt assertion used at one is refused as a replay at the other', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'billing-1' })
      .setIssuer('billing')
      .setSubject('billing')
      .setAudience(a.service.issuer)
      .setJti(randomBytes(16).toString('base64url'))
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(billing.privateKey);
    const body = {
      grant_type: 'client_credentials',
      client_id: 'billing',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    expect((await token(a.url, body)).status).toBe(200);
    const replay = await token(b.url, body);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
  });

  async function codeFrom(instance: Instance) {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = new URL(`${instance.url}/authorize`);
    url.search = form({
      response_type: 'code',
      client_id: 'shop-web',
      redirect_uri: REDIRECT,
      scope: 'openid orders:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
    });
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    const code = location.searchParams.get('code');
    if (code === null) throw new Error(`no code in ${location.search}`);
    return { code, verifier };
  }

  it('a code issued by one is redeemed at the other, once', async () => {
    const { code, verifier } = await codeFrom(a);
    const redeem = (base: string) =>
      token(base, {
        grant_type: 'authorization_code',
        client_id: 'shop-web',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
    const first = await redeem(b.url);
    expect(first.status).toBe(200);
    expect(typeof first.body.refresh_token).toBe('string');
    const second = await redeem(a.url);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
  });

  it('a refresh family rotated on one and reused at the other is caught and revoked', async () => {
    const { code, verifier } = await codeFrom(a);
    const issued = await token(a.url, {
      grant_type: 'authorization_code',
      client_id: 'shop-web',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    const first = issued.body.refresh_token as string;
    const refresh = (base: string, refreshToken: string) =>
      token(base, { grant_type: 'refresh_token', client_id: 'shop-web', refresh_token: refreshToken });
    const rotated = await refresh(a.url, first);
    expect(rotated.status).toBe(200);
    const second = rotated.body.refresh_token as string;
    expect(second).not.toBe(first);
    // The rotated-away token, presented at the other instance: reuse.
    const reuse = await refresh(b.url, first);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    // The whole family is revoked, at either instance.
    const afterReuse = await refresh(a.url, second);
    expect(afterReuse.status).toBe(400);
    expect(afterReuse.body.error).toBe('invalid_grant');
  });

  it('an access token issued by one and revoked at the other is announced on the shared channel and inactive at both', async () => {
    const issued = await token(a.url, { grant_type: 'client_credentials' }, basic('orders', ORDERS_SECRET));
    const accessToken = issued.body.access_token as string;
    const jti = JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString()).jti;
    // A resource server's subscription, on its own connection with the same prefix.
    const listener = new RedisChannel({ url: REDIS_URL, prefix: PREFIX });
    const events: unknown[] = [];
    const unsubscribe = await listener.subscribe(REVOCATION_TOPIC, (message) => {
      events.push(JSON.parse(message));
    });
    try {
      const response = await fetch(`${b.url}/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('orders', ORDERS_SECRET),
        },
        body: form({ token: accessToken, token_type_hint: 'access_token' }),
      });
      expect(response.status).toBe(200);
      await expect
        .poll(() => events, { timeout: 5000, interval: 20 })
        .toContainEqual(expect.objectContaining({ kind: 'jti', value: jti }));
    } finally {
      await unsubscribe();
      await listener.close();
    }
  });
});
