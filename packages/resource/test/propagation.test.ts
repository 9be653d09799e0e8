import { InProcessChannel } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationOf } from '../src/adapters/fastify.js';
import { requireDelegation, requireScope } from '../src/authorize/policy.js';
import { createServiceClient, type ServiceFetch } from '../src/client/service-client.js';
import { bearer } from '../src/identity/bearer.js';
import { BearerCredential } from '../src/identity/bearer-credential.js';
import { createVerifier } from '../src/verify/verifier.js';
import { bearerHeader, call, startService } from './support/service.js';
import { clients, type RealTokenService, startTokenService } from './support/token-service.js';

// Passing identity on, against the real token service: orders -> payments -> ledger, each hop a
// token exchanged for the next audience with only the scope it needs; act grows per hop.

let ts: RealTokenService;
let channel: InProcessChannel;
const apps: FastifyInstance[] = [];
let ordersUrl: string;
let paymentsUrl: string;
let ledgerUrl: string;
let ordersClient: ServiceFetch;

async function serviceFor(audience: string, extra: (app: FastifyInstance) => void): Promise<string> {
  const verifier = await createVerifier({ issuer: ts.url, audience });
  const started = await startService(bearer(verifier), { extra });
  apps.push(started.app);
  return started.url;
}

beforeAll(async () => {
  channel = new InProcessChannel();
  ts = await startTokenService(channel);
  const tokenEndpoint = ts.service.endpoints.token;
  ledgerUrl = await serviceFor('ledger', (app) => {
    app.get(
      '/entries',
      { config: { auth: { policy: requireDelegation({ via: ['payments', 'orders'] }) } } },
      async (request) => {
        const p = request.principal;
        return {
          sub: p?.subject,
          client: p?.clientId,
          scopes: p?.scopes,
          actors: p?.actors,
          jti: p?.tokenId,
          aud: p?.audience,
        };
      },
    );
  });
  const paymentsClient = createServiceClient({
    tokenEndpoint,
    clientId: 'payments',
    clientSecret: clients.payments.client_secret,
  });
  paymentsUrl = await serviceFor('payments', (app) => {
    app.post(
      '/charge',
      { config: { auth: { policy: requireScope('payments:charge') } } },
      async (request) => {
        const on = authenticationOf(request);
        const response = await paymentsClient(`${ledgerUrl}/entries`, {
          audience: 'ledger',
          scope: ['ledger:write'],
          on,
        });
        return { status: response.status, ledger: await response.json(), jti: request.principal?.tokenId };
      },
    );
  });
  ordersClient = createServiceClient({
    tokenEndpoint,
    clientId: 'orders',
    clientSecret: clients.orders.client_secret,
  });
  ordersUrl = await serviceFor('orders', (app) => {
    app.post('/checkout', async (request) => {
      const on = authenticationOf(request);
      const response = await ordersClient(`${paymentsUrl}/charge`, {
        method: 'POST',
        audience: 'payments',
        scope: ['payments:charge'],
        on,
      });
      return { status: response.status, payments: await response.json() };
    });
  });
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await ts?.stop();
  await channel?.close();
});

describe('token exchange through two hops', () => {
  it('each hop gets a token for the next audience only, and the act chain grows', async () => {
    const user = ts.userToken(['orders'], ['orders:read']);
    const answer = await call(`${ordersUrl}/checkout`, { method: 'POST', ...bearerHeader(user.token) });
    expect(answer.status).toBe(200);
    const payments = answer.body.payments as { status: number; ledger: Record<string, unknown>; jti: string };
    expect(payments.status).toBe(200);
    expect(payments.ledger).toMatchObject({
      sub: 'alice',
      client: 'payments',
      scopes: ['ledger:write'],
      aud: ['ledger'],
      actors: [{ subject: 'payments' }, { subject: 'orders' }],
    });
    // G 89: the user's own token, forwarded unchanged, is refused by payments and by the ledger.
    expect(
      (await call(`${paymentsUrl}/charge`, { method: 'POST', ...bearerHeader(user.token) })).status,
    ).toBe(401);
    expect((await call(`${ledgerUrl}/entries`, bearerHeader(user.token))).status).toBe(401);
  });

  it('exchanged tokens are cached per (incoming token, audience, scope)', async () => {
    const user = ts.userToken(['orders'], ['orders:read']);
    const first = await call(`${ordersUrl}/checkout`, { method: 'POST', ...bearerHeader(user.token) });
    const second = await call(`${ordersUrl}/checkout`, { method: 'POST', ...bearerHeader(user.token) });
    const jtiOf = (a: typeof first) => (a.body.payments as { jti: string }).jti;
    expect(jtiOf(first)).toBe(jtiOf(second));
    const other = ts.userToken(['orders'], ['orders:read']);
    const third = await call(`${ordersUrl}/checkout`, { method: 'POST', ...bearerHeader(other.token) });
    expect(jtiOf(third)).not.toBe(jtiOf(first));
  });

  it('a background job uses the service’s own client_credentials token, cached', async () => {
    const inventoryVerifier = await createVerifier({ issuer: ts.url, audience: 'inventory' });
    const seen: string[] = [];
    const inventory = await startService(bearer(inventoryVerifier), {
      extra(app) {
        app.get('/stock', async (request) => {
          seen.push(request.principal?.tokenId ?? '');
          return {
            sub: request.principal?.subject,
            client: request.principal?.clientId,
            scopes: request.principal?.scopes,
          };
        });
      },
    });
    apps.push(inventory.app);
    const one = await ordersClient(`${inventory.url}/stock`, {
      audience: 'inventory',
      scope: ['inventory:read'],
    });
    const two = await ordersClient(`${inventory.url}/stock`, {
      audience: 'inventory',
      scope: ['inventory:read'],
    });
    expect(await one.json()).toEqual({ sub: 'orders', client: 'orders', scopes: ['inventory:read'] });
    expect(two.status).toBe(200);
    expect(seen[0]).toBe(seen[1]);
  });

  it('a refused exchange is a 502 with a stable code, never the token service’s detail', async () => {
    const user = ts.userToken(['orders'], ['orders:read']);
    const verifier = await createVerifier({ issuer: ts.url, audience: 'orders' });
    const on = { principal: await verifier.verify(user.token), credential: new BearerCredential(user.token) };
    // orders may not reach the ledger's audience: the token service answers invalid_target.
    await expect(ordersClient(`${ledgerUrl}/entries`, { audience: 'ledger', on })).rejects.toMatchObject({
      code: 'ERR_UPSTREAM_TOKEN_FAILED',
      status: 502,
      message: 'the token service answered 400 invalid_target',
    });
  });
});
