import { KeyObject, sign } from 'node:crypto';
import { DpopProofSigner, generateSigningKey, type SigningKey, sha256Base64url } from '@tessera/core';
import { RedisStore } from '@tessera/storage';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import {
  deleteKeysWithPrefix,
  keysWithPrefix,
  REDIS_URL,
  randomPrefix,
} from '../../../test/support/redis.js';
import { dpopCodeFlow } from '../../../test/support/token-service/dpop-code-flow.js';
import {
  type Harness,
  startService as startTokenService,
} from '../../../test/support/token-service/harness.js';
import { addAlice } from '../../../test/support/token-service/users.js';
import { expressResource, principalOf } from '../src/adapters/express.js';
import { fastifyResource } from '../src/adapters/fastify.js';
import { bearer } from '../src/identity/bearer.js';
import { dpop } from '../src/identity/dpop.js';
import type { IdentitySource } from '../src/identity/types.js';
import { createVerifier, type Verifier } from '../src/verify/verifier.js';

// DPoP (RFC 9449 7) at a resource server, end to end: oauth4webapi (a client we did not write)
// gets bound tokens from the real token service and calls a Fastify route protected by the `dpop`
// source; then each refusal of docs/security.md C139-C142 over real HTTP, with proof ids recorded
// in the real Redis shared by two instances of the service.

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const REPORTS_SECRET = 'reports-secret-0123456789abcdef-0123456789';
const PUBLIC_ORIGIN = 'https://shop.example';
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const ALGS = 'algs="EdDSA Ed25519 ES256"';

interface Answer {
  readonly status: number;
  readonly challenge: string | null;
  readonly body: Record<string, unknown>;
}

let database: TestDatabase;
let issuer: Harness;
let as: oauth.AuthorizationServer;
let verifier: Verifier;
const prefix = randomPrefix('dpop');
const stores: RedisStore[] = [];
const apps: FastifyInstance[] = [];
let instanceA: string;
let instanceB: string;
let direct: string;

async function service(source: IdentitySource, options: { trustProxy?: boolean } = {}): Promise<string> {
  const app = Fastify(options.trustProxy === true ? { trustProxy: ['127.0.0.1'] } : {});
  await app.register(fastifyResource, { source });
  app.get('/orders', async (request) => ({
    sub: request.principal?.subject,
    binding: request.principal?.binding,
  }));
  app.post('/orders', async () => ({ created: true }));
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

function redis(): RedisStore {
  const store = new RedisStore({ url: REDIS_URL, prefix });
  stores.push(store);
  return store;
}

beforeAll(async () => {
  database = await sqlite.create();
  issuer = await startTokenService(database, {
    clients: [
      {
        client_id: 'reports',
        client_secret: REPORTS_SECRET,
        grant_types: ['client_credentials'],
        scopes: ['orders:read'],
        audiences: ['orders'],
      },
      {
        client_id: 'shop-web',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'orders:read'],
        audiences: ['orders'],
        first_party: true,
      },
    ],
  });
  await addAlice(issuer.service);
  const url = new URL(issuer.url);
  as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, insecure));
  // The verified-token cache is on: a cached token must still come with its proof.
  verifier = await createVerifier({ issuer: issuer.url, audience: 'orders', cache: true });
  // Two instances of one service behind the gateway, sharing Redis: proofs name the public origin.
  instanceA = await service(dpop(verifier, { replay: redis(), publicOrigin: PUBLIC_ORIGIN }));
  instanceB = await service(dpop(verifier, { replay: redis(), publicOrigin: PUBLIC_ORIGIN }));
  // One reached directly, its origin its own, taking unbound tokens as Bearer too.
  direct = await service(dpop(verifier, { replay: redis(), allowBearer: true }));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const store of stores) await store.close();
  await deleteKeysWithPrefix(prefix);
  await issuer?.stop();
  await database?.cleanup();
});

/** A token of `reports` bound to `signer`'s key, from a raw /token request with its proof. */
async function boundToken(signer: DpopProofSigner): Promise<string> {
  const response = await fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`reports:${REPORTS_SECRET}`).toString('base64')}`,
      dpop: signer.proof({ method: 'POST', url: `${issuer.url}/token` }),
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await response.json()) as { access_token: string; token_type: string };
  expect(body.token_type).toBe('DPoP');
  return body.access_token;
}

async function call(url: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  const response = await fetch(url, { method, headers });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

function expectRefused(answer: Answer, error: string, code: string): void {
  expect(answer.status).toBe(401);
  // The RFC 9449 error is in the challenge; the body is core's one JSON shape with our code.
  expect(answer.body).toMatchObject({ error: { code } });
  expect(answer.challenge).toMatch(new RegExp(`^DPoP ${ALGS}, error="${error}", error_description="`));
}

describe('oauth4webapi with DPoP against the token service and a DPoP-protected route', () => {
  it('client credentials: the bound token and its proof open the route', async () => {
    const client: oauth.Client = { client_id: 'reports' };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(REPORTS_SECRET),
        {},
        {
          DPoP,
          ...insecure,
        },
      ),
    );
    expect(tokens.token_type).toBe('dpop');
    const response = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(`${direct}/orders`),
      new Headers(),
      null,
      { DPoP, ...insecure },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      sub: 'reports',
      binding: { type: 'dpop', jkt: await DPoP.calculateThumbprint() },
    });
  });

  it('the code flow with PKCE: the user token, bound, opens the route', async () => {
    const client: oauth.Client = { client_id: 'shop-web' };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('EdDSA'));
    const tokens = await dpopCodeFlow(as, {
      clientId: 'shop-web',
      redirectUri: REDIRECT,
      scope: 'openid orders:read',
      DPoP,
    });
    const response = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(`${direct}/orders`),
      new Headers(),
      null,
      { DPoP, ...insecure },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { sub: string; binding: unknown };
    expect(body.binding).toEqual({ type: 'dpop', jkt: await DPoP.calculateThumbprint() });
  });
});

describe('refusals at the DPoP-protected route (RFC 9449 7.1)', () => {
  let holder: SigningKey;
  let signer: DpopProofSigner;
  let token: string;
  const publicUrl = `${PUBLIC_ORIGIN}/orders`;
  const dpopAuth = () => `DPoP ${token}`;

  beforeAll(async () => {
    holder = await generateSigningKey('EdDSA');
    signer = new DpopProofSigner(holder);
    token = await boundToken(signer);
  });

  it('a valid proof for the public URL opens the route at either instance', async () => {
    for (const instance of [instanceA, instanceB]) {
      const proof = signer.proof({ method: 'GET', url: publicUrl, accessToken: token });
      const answer = await call(`${instance}/orders`, { authorization: dpopAuth(), dpop: proof });
      expect(answer.status).toBe(200);
    }
  });

  it('C141: a proof replayed, at the same instance or at another sharing Redis -> invalid_dpop_proof', async () => {
    const proof = signer.proof({ method: 'GET', url: publicUrl, accessToken: token });
    expect((await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: proof })).status).toBe(200);
    const sameInstance = await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: proof });
    expectRefused(sameInstance, 'invalid_dpop_proof', 'ERR_DPOP_REPLAYED');
    const other = signer.proof({ method: 'GET', url: publicUrl, accessToken: token });
    expect((await call(`${instanceB}/orders`, { authorization: dpopAuth(), dpop: other })).status).toBe(200);
    const acrossInstances = await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: other });
    expectRefused(acrossInstances, 'invalid_dpop_proof', 'ERR_DPOP_REPLAYED');
    // What Redis holds: proof ids under the shared prefix, hashed with the key, never the proof.
    const keys = await keysWithPrefix(`${prefix}dpop:`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
  });

  it.each([
    [
      'for another URL',
      () => signer.proof({ method: 'GET', url: `${PUBLIC_ORIGIN}/payments`, accessToken: token }),
      'ERR_DPOP_URL_MISMATCH',
    ],
    [
      'for this process rather than the public origin',
      () => signer.proof({ method: 'GET', url: `${instanceA}/orders`, accessToken: token }),
      'ERR_DPOP_URL_MISMATCH',
    ],
    [
      'for another method',
      () => signer.proof({ method: 'POST', url: publicUrl, accessToken: token }),
      'ERR_DPOP_METHOD_MISMATCH',
    ],
    ['with no ath', () => signer.proof({ method: 'GET', url: publicUrl }), 'ERR_DPOP_ATH_MISMATCH'],
    [
      'with the ath of another token',
      () => signer.proof({ method: 'GET', url: publicUrl, accessToken: `${token}x` }),
      'ERR_DPOP_ATH_MISMATCH',
    ],
  ])('C140: a proof %s -> invalid_dpop_proof', async (_name, make, code) => {
    const answer = await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: make() });
    expectRefused(answer, 'invalid_dpop_proof', code);
  });

  it('C140: a stale iat, or one ahead of the window -> invalid_dpop_proof', async () => {
    for (const shift of [-120_000, 120_000]) {
      const late = new DpopProofSigner(holder, { now: () => Date.now() + shift });
      const proof = late.proof({ method: 'GET', url: publicUrl, accessToken: token });
      const answer = await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: proof });
      expectRefused(answer, 'invalid_dpop_proof', 'ERR_DPOP_IAT_OUT_OF_WINDOW');
    }
  });

  it('C139: no proof, two proofs, alg none, HS256, a private key in jwk -> invalid_dpop_proof', async () => {
    const key = holder;
    const claims = () => ({
      jti: sha256Base64url(String(Math.random())),
      htm: 'GET',
      htu: publicUrl,
      iat: Math.floor(Date.now() / 1000),
      ath: sha256Base64url(token),
    });
    const { kid: _k, alg: _a, use: _u, ...jwk } = key.publicJwk;
    const none = `${encode({ typ: 'dpop+jwt', alg: 'none', jwk })}.${encode(claims())}.`;
    const hs256 = signed(key, { typ: 'dpop+jwt', alg: 'HS256', jwk }, claims());
    const privateJwk = await exportJWK(key.privateKey);
    const withPrivate = signed(key, { typ: 'dpop+jwt', alg: 'EdDSA', jwk: privateJwk }, claims());
    const cases: [Record<string, string>, string][] = [
      [{}, 'ERR_DPOP_PROOF_MISSING'],
      [
        {
          dpop: `${signer.proof({ method: 'GET', url: publicUrl, accessToken: token })}, ${signer.proof({ method: 'GET', url: publicUrl, accessToken: token })}`,
        },
        'ERR_DPOP_PROOF_MALFORMED',
      ],
      [{ dpop: none }, 'ERR_DPOP_ALG_NOT_ALLOWED'],
      [{ dpop: hs256 }, 'ERR_DPOP_ALG_NOT_ALLOWED'],
      [{ dpop: withPrivate }, 'ERR_DPOP_JWK_INVALID'],
    ];
    for (const [headers, code] of cases) {
      const answer = await call(`${instanceA}/orders`, { authorization: dpopAuth(), ...headers });
      expectRefused(answer, 'invalid_dpop_proof', code);
    }
  });

  it('C142: a proof signed by another key than cnf.jkt -> invalid_token', async () => {
    const thief = await DpopProofSigner.generate();
    const proof = thief.proof({ method: 'GET', url: publicUrl, accessToken: token });
    const answer = await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: proof });
    expectRefused(answer, 'invalid_token', 'ERR_DPOP_KEY_MISMATCH');
  });

  it('C142: the bound token sent as Bearer -> invalid_token, here and at a bearer-only service', async () => {
    const answer = await call(`${direct}/orders`, { authorization: `Bearer ${token}` });
    expectRefused(answer, 'invalid_token', 'ERR_DPOP_BOUND_TOKEN_AS_BEARER');
    const bearerOnly = await service(bearer(verifier));
    const there = await call(`${bearerOnly}/orders`, { authorization: `Bearer ${token}` });
    expect(there.status).toBe(401);
    expect(there.body).toMatchObject({ error: { code: 'ERR_DPOP_BOUND_TOKEN_AS_BEARER' } });
    expect(there.challenge).toMatch(/^Bearer error="invalid_token"/);
  });

  it('C142: an unbound token under the DPoP scheme -> invalid_token; as Bearer only where allowed', async () => {
    const response = await fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`reports:${REPORTS_SECRET}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const unbound = ((await response.json()) as { access_token: string }).access_token;
    const proof = signer.proof({ method: 'GET', url: `${direct}/orders`, accessToken: unbound });
    const underDpop = await call(`${direct}/orders`, { authorization: `DPoP ${unbound}`, dpop: proof });
    expectRefused(underDpop, 'invalid_token', 'ERR_DPOP_TOKEN_NOT_BOUND');
    expect((await call(`${direct}/orders`, { authorization: `Bearer ${unbound}` })).status).toBe(200);
    const strict = await call(`${instanceA}/orders`, { authorization: `Bearer ${unbound}` });
    expect(strict.status).toBe(401);
    expect(strict.challenge).toBe(`DPoP ${ALGS}`);
  });

  it('no credentials: 401 with the DPoP challenge and its algorithms', async () => {
    const answer = await call(`${instanceA}/orders`, {});
    expect(answer.status).toBe(401);
    expect(answer.challenge).toBe(`DPoP ${ALGS}`);
  });

  it('a token the cache has verified still needs its proof on every request', async () => {
    const proof = () => signer.proof({ method: 'GET', url: publicUrl, accessToken: token });
    expect((await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: proof() })).status).toBe(
      200,
    );
    const noProof = await call(`${instanceA}/orders`, { authorization: dpopAuth() });
    expectRefused(noProof, 'invalid_dpop_proof', 'ERR_DPOP_PROOF_MISSING');
    const thief = await DpopProofSigner.generate();
    const stolen = thief.proof({ method: 'GET', url: publicUrl, accessToken: token });
    expectRefused(
      await call(`${instanceA}/orders`, { authorization: dpopAuth(), dpop: stolen }),
      'invalid_token',
      'ERR_DPOP_KEY_MISMATCH',
    );
  });
});

describe('htu behind a proxy, from the framework', () => {
  it("Fastify's trustProxy: X-Forwarded-Proto and -Host from a trusted peer are the proof's origin", async () => {
    const signer = await DpopProofSigner.generate();
    const token = await boundToken(signer);
    const trusting = await service(dpop(verifier, { replay: redis() }), { trustProxy: true });
    const ignoring = await service(dpop(verifier, { replay: redis() }));
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' };
    const first = signer.proof({ method: 'GET', url: `${PUBLIC_ORIGIN}/orders?page=2`, accessToken: token });
    const ok = await call(`${trusting}/orders?page=2`, {
      authorization: `DPoP ${token}`,
      dpop: first,
      ...forwarded,
    });
    expect(ok.status).toBe(200);
    const second = signer.proof({ method: 'GET', url: `${PUBLIC_ORIGIN}/orders`, accessToken: token });
    const refused = await call(`${ignoring}/orders`, {
      authorization: `DPoP ${token}`,
      dpop: second,
      ...forwarded,
    });
    expectRefused(refused, 'invalid_dpop_proof', 'ERR_DPOP_URL_MISMATCH');
  });

  it("Express's trust proxy, the same way", async () => {
    const signer = await DpopProofSigner.generate();
    const token = await boundToken(signer);
    const app = express();
    app.set('trust proxy', 'loopback');
    const handler = expressResource({ source: dpop(verifier, { replay: redis() }) });
    app.use(handler);
    app.get('/orders', (req, res) => {
      res.json({ binding: principalOf(req).binding });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    try {
      const proof = signer.proof({ method: 'GET', url: `${PUBLIC_ORIGIN}/orders`, accessToken: token });
      const answer = await call(`http://127.0.0.1:${port}/orders`, {
        authorization: `DPoP ${token}`,
        dpop: proof,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'shop.example',
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ binding: { type: 'dpop', jkt: signer.jkt } });
      const replayed = await call(`http://127.0.0.1:${port}/orders`, {
        authorization: `DPoP ${token}`,
        dpop: proof,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'shop.example',
      });
      expectRefused(replayed, 'invalid_dpop_proof', 'ERR_DPOP_REPLAYED');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await handler.close();
    }
  });
});

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signed(key: SigningKey, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), KeyObject.from(key.privateKey)).toString('base64url')}`;
}
