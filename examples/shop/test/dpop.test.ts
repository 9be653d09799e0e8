import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DpopProofSigner } from '@tessera/core';
import { RedisStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { ORDERS_SECRET } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { tokenAuth } from '../src/auth.js';
import { createInventoryService } from '../src/inventory.js';
import { createOrdersService } from '../src/orders.js';
import { createPaymentsService } from '../src/payments.js';

// The shop in DPoP mode over real HTTP against the real token service: the caller (the gateway's
// place) sends orders a token bound to its key with its proof; orders exchanges it, bound to its
// own key, and calls inventory and payments with its proofs; each service takes DPoP only. A
// recording proxy between orders and inventory keeps what inventory received, which is then
// replayed at inventory, at payments and at orders (docs/security.md G163).

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const prefix = randomPrefix('shop-dpop');

interface Trace {
  readonly service: string;
  readonly binding?: { readonly kind: string; readonly value: string };
}

/** The DPoP key a hop checked (its trace binding of kind `jkt`). */
function jktOf(entry: Trace | undefined): string | undefined {
  return entry?.binding?.kind === 'jkt' ? entry.binding.value : undefined;
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
}

let database: TestDatabase;
let issuer: Harness;
let replay: RedisStore;
const apps: FastifyInstance[] = [];
let recorder: Server;
const received: Received[] = [];
let ordersUrl: string;
let inventoryUrl: string;
let paymentsUrl: string;
let caller: DpopProofSigner;
let ordersKey: DpopProofSigner;

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** Forwards to `target` as it came (its Host too) and keeps each request's headers: what the backend behind it received. */
async function recordingProxy(target: string): Promise<string> {
  const { port } = new URL(target);
  recorder = createServer((request, response) => {
    received.push({ headers: request.headers, url: request.url ?? '/' });
    const upstream = httpRequest(
      { host: '127.0.0.1', port, path: request.url, method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
}

/** Alice's token for orders from the code flow, redeemed with `holder`'s proof: bound to it. */
async function boundUserToken(holder: DpopProofSigner): Promise<string> {
  const authorize = new URL(`${issuer.url}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: 'shop-app',
    redirect_uri: REDIRECT,
    scope: 'orders:write',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 'state-0123456789',
  }).toString();
  const { location } = await signIn(new Browser(), authorize, 'alice', ALICE_PASSWORD);
  const tokenUrl = `${issuer.url}/token`;
  const answer = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: holder.proof({ method: 'POST', url: tokenUrl }),
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: location.searchParams.get('code') ?? '',
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      redirect_uri: REDIRECT,
      client_id: 'shop-app',
    }),
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  database = await sqlite.create();
  issuer = await startService(database, {
    clients: [
      {
        client_id: 'orders',
        client_secret: ORDERS_SECRET,
        grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
        scopes: ['inventory:reserve', 'payments:charge'],
        audiences: ['inventory', 'payments'],
        // orders checks its caller's proof before it exchanges the caller's bound token.
        dpop_bound_subject_tokens: true,
      },
      {
        client_id: 'shop-app',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code'],
        scopes: ['orders:write'],
        audiences: ['orders'],
        first_party: true,
      },
    ],
  });
  await addAlice(issuer.service);
  replay = new RedisStore({ url: REDIS_URL, prefix });
  const auth = tokenAuth({ issuer: issuer.url, dpop: { replay } });
  paymentsUrl = await listen(await createPaymentsService({ auth }));
  inventoryUrl = await recordingProxy(await listen(await createInventoryService({ auth })));
  ordersKey = await DpopProofSigner.generate('ES256');
  ordersUrl = await listen(
    await createOrdersService({
      auth,
      client: {
        tokenEndpoint: `${issuer.url}/token`,
        clientId: 'orders',
        clientSecret: ORDERS_SECRET,
        dpop: ordersKey,
      },
      inventoryUrl,
      paymentsUrl,
    }),
  );
  caller = await DpopProofSigner.generate();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  recorder?.closeAllConnections();
  recorder?.close();
  await replay?.close();
  await deleteKeysWithPrefix(prefix);
  await issuer?.stop();
  await database?.cleanup();
});

function placeOrder(headers: Record<string, string>): Promise<Response> {
  return fetch(`${ordersUrl}/orders`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
  });
}

describe('the shop in DPoP mode', () => {
  let token: string;
  let trace: readonly Trace[];

  beforeAll(async () => {
    token = await boundUserToken(caller);
    const response = await placeOrder(
      caller.requestHeaders({ method: 'POST', url: `${ordersUrl}/orders`, accessToken: token }),
    );
    expect(response.status).toBe(201);
    ({ trace } = (await response.json()) as { trace: Trace[] });
  });

  it("each hop checked a proof: the caller's key at orders, orders' own at inventory and payments (the trace's jkt)", () => {
    expect(trace.map((entry) => [entry.service, jktOf(entry)])).toEqual([
      ['orders', caller.jkt],
      ['inventory', ordersKey.jkt],
      ['payments', ordersKey.jkt],
    ]);
    const authorization = String(received.at(-1)?.headers.authorization);
    expect(authorization).toMatch(/^DPoP /);
    expect(decodeJwt(authorization.slice('DPoP '.length)).cnf).toEqual({ jkt: ordersKey.jkt });
  });

  it('a bearer token, or the bound token as a bearer token, is refused at every service (401, DPoP challenge)', async () => {
    const answer = await placeOrder({ authorization: `Bearer ${token}` });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^DPoP /);
  });

  describe('the token inventory received, taken and replayed (docs/security.md G163)', () => {
    const taken = () => received.at(-1) as Received;
    const tokenTaken = () => (taken().headers.authorization as string).slice('DPoP '.length);
    const reserve = (url: string, headers: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
      });

    it('at inventory with the proof it came with (replayed), without one, with a thief proof -> 401', async () => {
      const url = `${inventoryUrl}/reserve`;
      const { authorization, dpop } = taken().headers as { authorization: string; dpop: string };
      const replayed = await reserve(url, { authorization, dpop });
      expect(replayed.status).toBe(401);
      expect(((await replayed.json()) as { error: { code: string } }).error.code).toBe('ERR_DPOP_REPLAYED');
      expect((await reserve(url, { authorization })).status).toBe(401);
      const thief = await DpopProofSigner.generate();
      const stolen = await reserve(
        url,
        thief.requestHeaders({ method: 'POST', url, accessToken: tokenTaken() }),
      );
      expect(stolen.status).toBe(401);
      expect(((await stolen.json()) as { error: { code: string } }).error.code).toBe('ERR_DPOP_KEY_MISMATCH');
    });

    it('at payments and at orders, with and without a proof -> 401', async () => {
      const thief = await DpopProofSigner.generate();
      for (const url of [`${paymentsUrl}/charge`, `${ordersUrl}/orders`]) {
        expect((await reserve(url, { authorization: `DPoP ${tokenTaken()}` })).status).toBe(401);
        expect(
          (await reserve(url, thief.requestHeaders({ method: 'POST', url, accessToken: tokenTaken() })))
            .status,
        ).toBe(401);
      }
    });
  });
});
