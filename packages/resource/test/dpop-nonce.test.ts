import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DpopNonces, DpopProofSigner, KeySet, signAccessToken } from '@tessera/core';
import { RedisStore } from '@tessera/storage';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { expressResource } from '../src/adapters/express.js';
import { fastifyResource } from '../src/adapters/fastify.js';
import { dpop } from '../src/identity/dpop.js';
import type { IdentitySource } from '../src/identity/types.js';
import { createVerifier, type Verifier } from '../src/verify/verifier.js';

// Server nonces at a resource server (RFC 9449 9), over real HTTP with proof ids in the real
// Redis: oauth4webapi (a client we did not write) is refused use_dpop_nonce with a DPoP-Nonce,
// retries with it and gets in; every answer hands out the current nonce; two instances over one
// secret accept each other's nonces; a nonce of another secret or of a past period is refused.

const ISSUER = 'https://issuer.test';
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const prefix = randomPrefix('dpop-nonce');
const secret = randomBytes(32);
const stores: RedisStore[] = [];
const apps: FastifyInstance[] = [];
let keys: KeySet;
let verifier: Verifier;
let instanceA: string;
let instanceB: string;

function redis(): RedisStore {
  const store = new RedisStore({ url: REDIS_URL, prefix });
  stores.push(store);
  return store;
}

function withNonces(options: { secret?: Uint8Array; now?: () => number } = {}): IdentitySource {
  return dpop(verifier, { replay: redis(), nonce: new DpopNonces({ secret, ...options }) });
}

async function service(source: IdentitySource): Promise<string> {
  const app = Fastify();
  await app.register(fastifyResource, { source });
  app.get('/orders', async (request) => ({ sub: request.principal?.subject }));
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function tokenFor(jkt: string): Promise<string> {
  return signAccessToken(
    keys,
    { subject: 'alice', clientId: 'web', audience: 'orders', scopes: ['orders:read'], dpopJkt: jkt },
    { issuer: ISSUER, lifetime: 300 },
  );
}

beforeAll(async () => {
  keys = await KeySet.generate(['EdDSA']);
  verifier = await createVerifier({ issuer: ISSUER, audience: 'orders', keys });
  instanceA = await service(withNonces());
  instanceB = await service(withNonces());
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const store of stores) await store.close();
  await deleteKeysWithPrefix(prefix);
});

async function get(url: string, token: string, proof: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
}

/** Whether the answer hands out a nonce of this secret's current (or, across a period's end, last) period. */
function current(answer: Response): boolean {
  const nonce = answer.headers.get('dpop-nonce');
  return nonce !== null && new DpopNonces({ secret }).accepts(nonce);
}

describe('server nonces at a resource server (RFC 9449 9; docs/security.md C149)', () => {
  it('oauth4webapi: refused use_dpop_nonce with a DPoP-Nonce, retries with it, and gets in', async () => {
    const client: oauth.Client = { client_id: 'web' };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const token = await tokenFor(await DPoP.calculateThumbprint());
    const url = new URL(`${instanceA}/orders`);
    const request = () =>
      oauth.protectedResourceRequest(token, 'GET', url, new Headers(), null, { DPoP, ...insecure });
    const refusal = await request().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(oauth.isDPoPNonceError(refusal)).toBe(true);
    const challenge = (refusal as oauth.WWWAuthenticateChallengeError).response;
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toMatch(/^DPoP algs="[^"]+", error="use_dpop_nonce"/);
    expect(challenge.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await challenge.json()).toMatchObject({ error: { code: 'ERR_DPOP_NONCE_REQUIRED' } });
    // The handle kept the nonce of the refusal: the retry, as the library's users write it, works.
    const response = await request();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sub: 'alice' });
    expect(current(response)).toBe(true);
    // And the next request goes through at once, with the nonce the last answer carried.
    expect((await request()).status).toBe(200);
  });

  it('a nonce handed out by one instance is accepted by another over the same secret', async () => {
    const signer = await DpopProofSigner.generate();
    const token = await tokenFor(signer.jkt);
    const first = await get(
      `${instanceA}/orders`,
      token,
      signer.proof({ method: 'GET', url: `${instanceA}/orders`, accessToken: token }),
    );
    expect(first.status).toBe(401);
    const nonce = first.headers.get('dpop-nonce') as string;
    const proof = signer.proof({ method: 'GET', url: `${instanceB}/orders`, accessToken: token, nonce });
    const answer = await get(`${instanceB}/orders`, token, proof);
    expect(answer.status).toBe(200);
    // The nonce is no jti: the proof itself still works once.
    const replayed = await get(`${instanceB}/orders`, token, proof);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ error: { code: 'ERR_DPOP_REPLAYED' } });
  });

  it('a nonce of another secret, or of a period two lifetimes ago, is refused use_dpop_nonce', async () => {
    const signer = await DpopProofSigner.generate();
    const token = await tokenFor(signer.jkt);
    const url = `${instanceA}/orders`;
    const stranger = new DpopNonces({ secret: randomBytes(32) }).current();
    const past = new DpopNonces({ secret, now: () => Date.now() - 2 * 120_000 - 1000 }).current();
    for (const nonce of [stranger, past, '']) {
      const answer = await get(url, token, signer.proof({ method: 'GET', url, accessToken: token, nonce }));
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/error="use_dpop_nonce"/);
      expect(current(answer)).toBe(true);
    }
  });

  it('every answer of a protected route carries the nonce, refusals that are not about it too', async () => {
    const answer = await fetch(`${instanceA}/orders`);
    expect(answer.status).toBe(401);
    expect(current(answer)).toBe(true);
  });

  it('Express: the same nonce in the refusal and on the answer that lets the request in', async () => {
    const signer = await DpopProofSigner.generate();
    const token = await tokenFor(signer.jkt);
    const app = express();
    const handler = expressResource({ source: withNonces() });
    app.use(handler);
    app.get('/orders', (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    try {
      const refused = await get(url, token, signer.proof({ method: 'GET', url, accessToken: token }));
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/error="use_dpop_nonce"/);
      const nonce = refused.headers.get('dpop-nonce') as string;
      const answer = await get(url, token, signer.proof({ method: 'GET', url, accessToken: token, nonce }));
      expect(answer.status).toBe(200);
      expect(current(answer)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await handler.close();
    }
  });

  it('refuses a nonce option that is not a DpopNonces', () => {
    expect(() =>
      dpop(verifier, { replay: redis(), nonce: { current: () => 'n', accepts: () => true } as never }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
