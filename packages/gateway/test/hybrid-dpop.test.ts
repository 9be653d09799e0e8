import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DpopProofSigner, generateSigningKey, type SigningKey } from '@tessera/core';
import { createVerifier, dpop } from '@tessera/resource';
import { fastifyResource } from '@tessera/resource/fastify';
import { MemoryStore, RedisStore } from '@tessera/storage';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { createGateway, parseGatewayConfig } from '../src/index.js';

// Hybrid mode with `hybrid.dpop` against the real token service: the session's tokens are bound
// to the gateway's key (openid-client sends the gateway's proof for the code and each refresh),
// every upstream request carries a fresh proof, an exchange at the edge stays bound to the same
// key, and a second instance sharing the sessions with another key refreshes rather than send a
// token it cannot prove. The upstream is a real resource server on the `dpop` source.

const CLIENT_SECRET = 'gateway-hybrid-dpop-secret-0123456789abcdef';
const prefix = randomPrefix('hybrid-dpop');

interface Seen {
  readonly authorization: string;
  readonly dpop: string;
  readonly binding: { readonly jkt: string } | undefined;
}

interface RunningGateway {
  readonly url: string;
  skew: number;
}

let database: TestDatabase;
let service: Harness;
let upstream: string;
const sessions = new MemoryStore();
const closers: (() => Promise<unknown>)[] = [];
const redirectUris: string[] = [];

async function resourceServer(): Promise<string> {
  const verifier = await createVerifier({ issuer: service.url, audience: 'orders' });
  const replay = new RedisStore({ url: REDIS_URL, prefix });
  const app: FastifyInstance = Fastify();
  await app.register(fastifyResource, { source: dpop(verifier, { replay }) });
  app.get('/*', async (request) => ({
    authorization: request.headers.authorization,
    dpop: request.headers.dpop,
    binding: request.principal?.binding,
  }));
  closers.push(
    () => app.close(),
    () => replay.close(),
  );
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** A gateway with `hybrid.dpop` and `key`, on a port known before it is built (its redirect URI names it). */
async function startGateway(key: SigningKey): Promise<RunningGateway> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  redirectUris.push(url);
  await service.service.clients.upsert({
    client_id: 'gateway',
    client_secret: CLIENT_SECRET,
    redirect_uris: redirectUris.map((base) => `${base}/auth/callback`),
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    scopes: ['openid', 'orders:read'],
    audiences: ['orders', 'gateway'],
    first_party: true,
  });
  const config = parseGatewayConfig({
    logLevel: 'silent',
    session: { store: { type: 'memory' }, insecureHttpLocalhost: true },
    hybrid: {
      issuer: service.url,
      clientId: 'gateway',
      redirectUri: `${url}/auth/callback`,
      scopes: ['openid', 'orders:read'],
      dpop: true,
    },
    routes: [
      { prefix: '/api', upstream, auth: 'hybrid', stripPrefix: true },
      {
        prefix: '/narrow',
        upstream,
        auth: 'hybrid',
        exchange: { audience: 'orders', scope: ['orders:read'] },
      },
    ],
  });
  const running: RunningGateway = { url, skew: 0 };
  const app = await createGateway(config, {
    clientSecret: CLIENT_SECRET,
    dpopKey: key,
    sessionStore: sessions,
    now: () => Date.now() + running.skew,
  });
  await app.ready();
  server.on('request', (request, response) => app.routing(request, response));
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
    await app.close();
  });
  return running;
}

async function signInThrough(gateway: RunningGateway): Promise<Browser> {
  const browser = new Browser();
  const start = await browser.fetch(`${gateway.url}/auth/login?return_to=/`);
  expect(start.status).toBe(303);
  const { location } = await signIn(
    browser,
    start.headers.get('location') as string,
    'alice',
    ALICE_PASSWORD,
  );
  expect((await browser.fetch(location)).status).toBe(303);
  return browser;
}

async function seenAt(gateway: RunningGateway, browser: Browser, path: string): Promise<Seen> {
  const response = await browser.fetch(`${gateway.url}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Seen;
}

const tokenOf = (seen: Seen) => seen.authorization.slice('DPoP '.length);

let keyA: SigningKey;
let keyB: SigningKey;
let gatewayA: RunningGateway;
let gatewayB: RunningGateway;

beforeAll(async () => {
  database = await sqlite.create();
  service = await startService(database);
  await addAlice(service.service);
  upstream = await resourceServer();
  keyA = await generateSigningKey('EdDSA');
  keyB = await generateSigningKey('ES256');
  gatewayA = await startGateway(keyA);
  gatewayB = await startGateway(keyB);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await sessions.close();
  await deleteKeysWithPrefix(prefix);
  await service?.stop();
  await database?.cleanup();
});

describe('hybrid sessions bound to the gateway key (docs/security.md F162)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await signInThrough(gatewayA);
  });

  it("the session's token is bound to the gateway key, and each upstream request has a fresh proof for its URL", async () => {
    const first = await seenAt(gatewayA, browser, '/api/orders');
    expect(first.authorization).toMatch(/^DPoP /);
    expect(decodeJwt(tokenOf(first)).cnf).toEqual({ jkt: keyA.kid });
    expect(first.binding).toEqual({ type: 'dpop', jkt: keyA.kid });
    expect(decodeJwt(first.dpop)).toMatchObject({ htm: 'GET', htu: `${upstream}/orders` });
    const second = await seenAt(gatewayA, browser, '/api/orders');
    expect(second.authorization).toBe(first.authorization);
    expect(second.dpop).not.toBe(first.dpop);
  });

  it('an exchange at the edge is bound to the same key: the gateway holds the subject and proves it', async () => {
    const seen = await seenAt(gatewayA, browser, '/narrow/x');
    expect(decodeJwt(tokenOf(seen))).toMatchObject({
      aud: 'orders',
      cnf: { jkt: keyA.kid },
      act: { sub: 'gateway' },
    });
  });

  it('a refresh carries the proof: the new token is bound to the key too', async () => {
    const before = tokenOf(await seenAt(gatewayA, browser, '/api/orders'));
    gatewayA.skew = 270_000;
    try {
      const after = tokenOf(await seenAt(gatewayA, browser, '/api/orders'));
      expect(after).not.toBe(before);
      expect(decodeJwt(after).cnf).toEqual({ jkt: keyA.kid });
    } finally {
      gatewayA.skew = 0;
    }
  });

  it('an instance with another key refreshes the shared session with its own proof instead of sending a token it cannot prove', async () => {
    const atA = tokenOf(await seenAt(gatewayA, browser, '/api/orders'));
    const seen = await seenAt(gatewayB, browser, '/api/orders');
    expect(tokenOf(seen)).not.toBe(atA);
    expect(seen.binding).toEqual({ type: 'dpop', jkt: keyB.kid });
  });

  it('the token the upstream received is refused there without the gateway key (no proof, a thief proof)', async () => {
    const seen = await seenAt(gatewayA, browser, '/api/orders');
    const token = tokenOf(seen);
    const url = `${upstream}/orders`;
    expect((await fetch(url, { headers: { authorization: `DPoP ${token}` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const thief = await DpopProofSigner.generate();
    const stolen = await fetch(url, {
      headers: thief.requestHeaders({ method: 'GET', url, accessToken: token }),
    });
    expect(stolen.status).toBe(401);
  });
});
