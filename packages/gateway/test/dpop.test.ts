import type { AddressInfo } from 'node:net';
import { DpopProofSigner, generateSigningKey, type SigningKey } from '@tessera/core';
import { createVerifier, dpop } from '@tessera/resource';
import { fastifyResource } from '@tessera/resource/fastify';
import { RedisStore } from '@tessera/storage';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { dpopCodeFlow } from '../../../test/support/token-service/dpop-code-flow.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { addAlice } from '../../../test/support/token-service/users.js';
import { createGateway, loadGatewayConfig, parseGatewayConfig } from '../src/index.js';

// DPoP through the edge (RFC 9449 with RFC 8693), over real HTTP against the real token service:
// oauth4webapi (a client we did not write) gets a token bound to its key and calls a token route
// with its proof; the gateway checks the proof for its public URL (proof ids in the real Redis,
// shared by two gateway instances), exchanges the token for the upstream bound to the gateway's
// own key, and signs a proof for the upstream, a resource server on the `dpop` source. Then what
// the backend received is replayed at the backend, at another service and at the edge.

const PUBLIC_ORIGIN = 'https://shop.example';
const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const GATEWAY_SECRET = 'gateway-dpop-secret-0123456789abcdef-0123';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** What the upstream resource server saw: the credential as sent, and what it verified. */
interface Seen {
  readonly authorization: string;
  readonly dpop: string;
  readonly sub: string;
  readonly binding: { readonly jkt: string } | undefined;
  readonly act: unknown;
}

let database: TestDatabase;
let issuer: Harness;
let as: oauth.AuthorizationServer;
let gatewayKey: SigningKey;
const prefix = randomPrefix('gateway-dpop');
const closers: (() => Promise<unknown>)[] = [];
let edgeA: string;
let edgeB: string;
let inventory: string;
let payments: string;

/** A resource server for `audience` on the dpop source, answering what it received and verified. */
async function resourceServer(audience: string): Promise<string> {
  const verifier = await createVerifier({ issuer: issuer.url, audience, cache: true });
  const replay = new RedisStore({ url: REDIS_URL, prefix: `${prefix}${audience}:` });
  const app: FastifyInstance = Fastify();
  await app.register(fastifyResource, { source: dpop(verifier, { replay }) });
  app.get('/items', async (request) => ({
    authorization: request.headers.authorization,
    dpop: request.headers.dpop,
    sub: request.principal?.subject,
    binding: request.principal?.binding,
    act: request.principal?.actors,
  }));
  closers.push(
    () => app.close(),
    () => replay.close(),
  );
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function gateway(): Promise<string> {
  const config = parseGatewayConfig({
    logLevel: 'silent',
    publicOrigin: PUBLIC_ORIGIN,
    token: {
      issuer: issuer.url,
      audience: 'gateway',
      clientId: 'gateway',
      dpop: { store: { type: 'redis', url: REDIS_URL, keyPrefix: `${prefix}edge:` } },
    },
    routes: [
      {
        prefix: '/api/inventory',
        upstream: inventory,
        auth: 'token',
        stripPrefix: true,
        exchange: { audience: 'inventory', scope: ['inventory:read'] },
      },
    ],
  });
  const app = await createGateway(config, { clientSecret: GATEWAY_SECRET, dpopKey: gatewayKey });
  closers.push(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  database = await sqlite.create();
  issuer = await startService(database, {
    clients: [
      {
        client_id: 'gateway',
        client_secret: GATEWAY_SECRET,
        grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
        scopes: ['inventory:read'],
        audiences: ['inventory'],
        // The edge checks the caller's proof before it exchanges the caller's bound token.
        dpop_bound_subject_tokens: true,
      },
      {
        client_id: 'shop-app',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code'],
        scopes: ['openid', 'inventory:read'],
        audiences: ['gateway', 'payments'],
        first_party: true,
      },
    ],
  });
  await addAlice(issuer.service);
  const url = new URL(issuer.url);
  as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, insecure));
  gatewayKey = await generateSigningKey('EdDSA');
  inventory = await resourceServer('inventory');
  payments = await resourceServer('payments');
  edgeA = await gateway();
  edgeB = await gateway();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await deleteKeysWithPrefix(prefix);
  await issuer?.stop();
  await database?.cleanup();
});

/** oauth4webapi's code flow with DPoP for shop-app: alice's access token, bound to `DPoP`'s key. */
async function boundToken(DPoP: oauth.DPoPHandle): Promise<string> {
  const tokens = await dpopCodeFlow(as, {
    clientId: 'shop-app',
    redirectUri: REDIRECT,
    scope: 'openid inventory:read',
    DPoP,
  });
  expect(tokens.token_type).toBe('dpop');
  return tokens.access_token;
}

/** oauth4webapi's resource request to the gateway's public URL, delivered to instance `edge`. */
function atEdge(edge: string, token: string, DPoP: oauth.DPoPHandle): Promise<Response> {
  return oauth.protectedResourceRequest(
    token,
    'GET',
    new URL(`${PUBLIC_ORIGIN}/api/inventory/items`),
    new Headers(),
    null,
    {
      DPoP,
      [oauth.customFetch]: (target, init) => fetch(target.replace(PUBLIC_ORIGIN, edge), init as RequestInit),
    },
  );
}

async function challengeOf(response: Response): Promise<{ status: number; challenge: string; code: string }> {
  const body = (await response.json()) as { error?: { code?: string } };
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate') ?? '',
    code: body.error?.code ?? '',
  };
}

describe('DPoP at the gateway token routes (docs/security.md F161)', () => {
  let DPoP: oauth.DPoPHandle;
  let token: string;
  let seen: Seen;

  beforeAll(async () => {
    const client: oauth.Client = { client_id: 'shop-app' };
    DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    token = await boundToken(DPoP);
    const response = await atEdge(edgeA, token, DPoP);
    expect(response.status).toBe(200);
    seen = (await response.json()) as Seen;
  });

  it('oauth4webapi at the edge: the upstream gets an exchanged token bound to the gateway, with the gateway proof', async () => {
    const clientJkt = await DPoP.calculateThumbprint();
    expect(decodeJwt(token).cnf).toEqual({ jkt: clientJkt });
    // Never the caller's token: one for inventory alone, bound to the gateway's own key.
    expect(seen.authorization.startsWith('DPoP ')).toBe(true);
    const sent = seen.authorization.slice('DPoP '.length);
    expect(sent).not.toBe(token);
    expect(decodeJwt(sent)).toMatchObject({ aud: 'inventory', cnf: { jkt: gatewayKey.kid } });
    expect(seen.binding).toEqual({ type: 'dpop', jkt: gatewayKey.kid });
    expect(seen.sub).toBe(decodeJwt(token).sub);
    expect(seen.act).toEqual([{ subject: 'gateway' }]);
    // A fresh proof per upstream request, for the upstream's URL.
    const second = (await (await atEdge(edgeA, token, DPoP)).json()) as Seen;
    expect(second.authorization).toBe(seen.authorization);
    expect(second.dpop).not.toBe(seen.dpop);
    expect(decodeJwt(second.dpop)).toMatchObject({ htm: 'GET', htu: `${inventory}/items` });
  });

  it('readiness names the proof store the token routes record proofs in', async () => {
    const ready = (await (await fetch(`${edgeA}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['dpop proof store']).toBe('ok');
  });

  it('the bound token sent as a bearer token at the edge -> 401 invalid_token, nothing forwarded', async () => {
    const response = await fetch(`${edgeA}/api/inventory/items`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const answer = await challengeOf(response);
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^DPoP .*error="invalid_token"/);
    expect(answer.code).toBe('ERR_DPOP_BOUND_TOKEN_AS_BEARER');
  });

  it('a proof replayed at the same instance, and at another instance sharing Redis -> 401 invalid_dpop_proof', async () => {
    let proof = '';
    const capture = {
      DPoP,
      [oauth.customFetch]: (target: string, init: oauth.CustomFetchOptions<string, unknown>) => {
        proof = new Headers(init.headers).get('dpop') ?? '';
        return fetch(target.replace(PUBLIC_ORIGIN, edgeA), init as RequestInit);
      },
    };
    const first = await oauth.protectedResourceRequest(
      token,
      'GET',
      new URL(`${PUBLIC_ORIGIN}/api/inventory/items`),
      new Headers(),
      null,
      capture,
    );
    expect(first.status).toBe(200);
    for (const edge of [edgeA, edgeB]) {
      const replayed = await fetch(`${edge}/api/inventory/items`, {
        headers: { authorization: `DPoP ${token}`, dpop: proof },
      });
      const answer = await challengeOf(replayed);
      expect(answer.status).toBe(401);
      expect(answer.challenge).toMatch(/error="invalid_dpop_proof"/);
      expect(answer.code).toBe('ERR_DPOP_REPLAYED');
    }
  });

  it("a proof for this process's URL instead of the public one -> 401 invalid_dpop_proof", async () => {
    const thief = await DpopProofSigner.generate();
    const response = await fetch(`${edgeA}/api/inventory/items`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: thief.proof({ method: 'GET', url: `${edgeA}/api/inventory/items`, accessToken: token }),
      },
    });
    expect((await challengeOf(response)).challenge).toMatch(/error="invalid_dpop_proof"/);
  });

  it('the caller token with a proof by another key (a stolen token) -> 401 invalid_token', async () => {
    const thief = await DpopProofSigner.generate();
    const response = await fetch(`${edgeA}/api/inventory/items`, {
      headers: thief.requestHeaders({
        method: 'GET',
        url: `${PUBLIC_ORIGIN}/api/inventory/items`,
        accessToken: token,
      }),
    });
    const answer = await challengeOf(response);
    expect(answer.status).toBe(401);
    expect(answer.code).toBe('ERR_DPOP_KEY_MISMATCH');
  });

  describe('the token a backend received, taken and replayed (docs/security.md G163)', () => {
    const taken = () => seen.authorization.slice('DPoP '.length);

    it('at that backend: without a proof, with the proof it came with, with a proof of the thief -> 401', async () => {
      const url = `${inventory}/items`;
      const withoutProof = await fetch(url, { headers: { authorization: `DPoP ${taken()}` } });
      expect((await challengeOf(withoutProof)).challenge).toMatch(/error="invalid_dpop_proof"/);
      const asBearer = await fetch(url, { headers: { authorization: `Bearer ${taken()}` } });
      expect(asBearer.status).toBe(401);
      const withItsProof = await fetch(url, {
        headers: { authorization: seen.authorization, dpop: seen.dpop },
      });
      expect(await challengeOf(withItsProof)).toMatchObject({ status: 401, code: 'ERR_DPOP_REPLAYED' });
      const thief = await DpopProofSigner.generate();
      const withThiefProof = await fetch(url, {
        headers: thief.requestHeaders({ method: 'GET', url, accessToken: taken() }),
      });
      expect(await challengeOf(withThiefProof)).toMatchObject({ status: 401, code: 'ERR_DPOP_KEY_MISMATCH' });
    });

    it('at another service, with and without a proof -> 401', async () => {
      const url = `${payments}/items`;
      const thief = await DpopProofSigner.generate();
      for (const headers of [
        { authorization: `DPoP ${taken()}` },
        thief.requestHeaders({ method: 'GET', url, accessToken: taken() }),
      ]) {
        expect((await fetch(url, { headers })).status).toBe(401);
      }
    });

    it('at the edge, with and without a proof -> 401, never forwarded', async () => {
      const thief = await DpopProofSigner.generate();
      for (const headers of [
        { authorization: `DPoP ${taken()}` },
        { authorization: `Bearer ${taken()}` },
        thief.requestHeaders({
          method: 'GET',
          url: `${PUBLIC_ORIGIN}/api/inventory/items`,
          accessToken: taken(),
        }),
      ]) {
        expect((await fetch(`${edgeA}/api/inventory/items`, { headers })).status).toBe(401);
      }
    });
  });
});

describe('token.dpop in the config', () => {
  const base = {
    token: { issuer: 'https://auth.test', audience: 'gateway', clientId: 'gateway', dpop: {} },
    routes: [
      {
        prefix: '/api',
        upstream: 'http://127.0.0.1:9',
        auth: 'token' as const,
        exchange: { audience: 'inventory' },
      },
    ],
  };

  it('needs publicOrigin (the htu of the proofs) and an exchange on every token route', () => {
    expect(() => parseGatewayConfig(base)).toThrow(/publicOrigin: required with token\.dpop/);
    expect(() =>
      parseGatewayConfig({
        ...base,
        publicOrigin: PUBLIC_ORIGIN,
        routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:9', auth: 'token' }],
      }),
    ).toThrow(/routes\[0\]\.exchange: required with token\.dpop/);
  });

  it('a config built by hand is held to the same rules at start: ERR_INVALID_OPTION, nothing listening', async () => {
    const valid = parseGatewayConfig({ ...base, logLevel: 'silent', publicOrigin: PUBLIC_ORIGIN });
    const withoutExchange = {
      ...valid,
      routes: valid.routes.map(({ exchange: _exchange, ...route }) => route),
    };
    await expect(
      createGateway(withoutExchange, { clientSecret: GATEWAY_SECRET, tokenKeys: issuer.context.keys.keySet }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('warns when proof ids would be remembered in memory, not when a shared store is named', () => {
    const inMemory = loadGatewayConfig({ defaults: { ...base, publicOrigin: PUBLIC_ORIGIN } });
    expect(inMemory.warnings.join('\n')).toMatch(/token\.dpop: proof ids are remembered in memory/);
    const shared = loadGatewayConfig({
      defaults: {
        ...base,
        publicOrigin: PUBLIC_ORIGIN,
        token: { ...base.token, dpop: { store: { type: 'redis', url: REDIS_URL } } },
      },
    });
    expect(shared.warnings.join('\n')).not.toMatch(/proof ids/);
  });
});
