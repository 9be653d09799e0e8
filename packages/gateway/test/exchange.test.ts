import type { AddressInfo } from 'node:net';
import { createVerifier } from '@tessera/resource';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../../test/support/certificates.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { claimsOf, userToken } from '../../../test/support/token-service/delegation.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway, parseGatewayConfig } from '../src/index.js';

// Token exchange at the edge (RFC 8693) against the real token service: a token route that says
// `exchange` sends its upstream a token for that upstream alone, not the caller's.

const SECRET = 'gateway-exchange-secret-0123456789abcdef-01';

let database: TestDatabase;
let service: Harness;
let upstream: Upstream;
let gateway: FastifyInstance;
let base: string;

/** The token route that exchanges: the caller's token traded for one for inventory alone. */
const inventoryRoute = () => ({
  prefix: '/api/inventory',
  upstream: upstream.url,
  auth: 'token' as const,
  stripPrefix: true,
  exchange: { audience: 'inventory', scope: ['inventory:read'] },
});

beforeAll(async () => {
  database = await sqlite.create();
  service = await startService(database, {
    clients: [
      {
        client_id: 'gateway',
        client_secret: SECRET,
        grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
        scopes: ['inventory:read', 'orders:read'],
        audiences: ['inventory'],
      },
    ],
  });
  upstream = await startUpstream();
  const config = parseGatewayConfig({
    logLevel: 'silent',
    // The edge also accepts tokens for `edge`, which the gateway's client may not exchange.
    token: { issuer: service.url, audience: ['gateway', 'edge'], clientId: 'gateway' },
    routes: [
      inventoryRoute(),
      { prefix: '/api/plain', upstream: upstream.url, auth: 'token', stripPrefix: true },
    ],
  });
  gateway = await createGateway(config, { clientSecret: SECRET });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
  await service.stop();
  await database.cleanup();
});

const callerToken = (audience: string[] = ['gateway']) =>
  userToken(service, { clientId: 'shop-web', audience, scopes: ['orders:read', 'inventory:read'] }).token;

async function get(path: string, token: string): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

describe('exchange at the edge', () => {
  it('sends the upstream a token for it alone: its audience, the route scope, the gateway in act', async () => {
    const incoming = callerToken();
    const response = await get('/api/inventory/items', incoming);
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    const sent = (echo.headers.authorization as string).slice('Bearer '.length);
    expect(sent).not.toBe(incoming);
    const verifier = await createVerifier({ issuer: service.url, audience: 'inventory' });
    const principal = await verifier.verify(sent);
    expect(principal.subject).toBe('alice-sub');
    expect(principal.audience).toEqual(['inventory']);
    expect(principal.scopes).toEqual(['inventory:read']);
    expect(claimsOf(sent).act).toEqual({ sub: 'gateway' });
    // The exchanged token is cached: the same caller token gets the same upstream token.
    const again = (await (await get('/api/inventory/items', incoming)).json()) as Echo;
    expect(again.headers.authorization).toBe(echo.headers.authorization);
  });

  it('leaves a route without exchange alone: the caller token goes on as it came', async () => {
    const incoming = callerToken();
    const echo = (await (await get('/api/plain/x', incoming)).json()) as Echo;
    expect(echo.headers.authorization).toBe(`Bearer ${incoming}`);
  });

  it('a token the token service will not exchange gets 502 with a clear code and is never forwarded', async () => {
    // Good at the edge (its audience is one the gateway accepts), but not meant for the gateway's
    // client: the token service refuses to exchange it (RFC 8693: a service exchanges only tokens sent to it).
    const incoming = callerToken(['edge']);
    expect((await get('/api/plain/x', incoming)).status).toBe(200);
    const response = await get('/api/inventory/items', incoming);
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe('ERR_TOKEN_EXCHANGE_FAILED');
    expect(JSON.stringify(body)).not.toContain(incoming);
  });
});

describe('token.mtls against an issuer without mtls_endpoint_aliases', () => {
  it('G173: 503 ERR_TOKEN_SERVICE_UNAVAILABLE, no bearer fallback: the caller token never goes upstream', async () => {
    const ca = await createCertificateAuthority();
    const leaf = await ca.issue({ subject: 'CN=gateway', usage: 'client' });
    const mtlsGateway = await createGateway(
      parseGatewayConfig({
        logLevel: 'silent',
        token: { issuer: service.url, audience: 'gateway', clientId: 'gateway', mtls: true },
        routes: [inventoryRoute()],
      }),
      { clientSecret: SECRET, upstreamTls: { ca: ca.cert, cert: leaf.cert, key: leaf.key } },
    );
    try {
      const incoming = callerToken();
      const answer = await mtlsGateway.inject({
        method: 'GET',
        url: '/api/inventory/items',
        headers: { authorization: `Bearer ${incoming}` },
      });
      expect(answer.statusCode).toBe(503);
      expect(answer.json()).toMatchObject({ error: { code: 'ERR_TOKEN_SERVICE_UNAVAILABLE' } });
      // The upstream's echo would have been a 200: the gateway never sent it anything.
      expect(answer.body).not.toContain(incoming);
    } finally {
      await mtlsGateway.close();
    }
  });
});
