import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craft, header } from '../../../test/support/craft.js';
import { type FakeIssuer, startIssuer } from '../../../test/support/issuer.js';
import { freePort } from '../../../test/support/redis-server.js';
import { type ExpressResourceHandler, expressResource } from '../src/adapters/express.js';
import { bearer } from '../src/identity/bearer.js';
import { createVerifier } from '../src/verify/verifier.js';
import { claims } from './support/claims.js';

// The Express adapter's /metrics over real HTTP (the Fastify adapter's: examples/shop/test/metrics).
const METRICS_TOKEN = 'express-metrics-token-0123456789abcdef';
let issuer: FakeIssuer;
let server: Server;
let url: string;
let listenerPort: number;
let withListener: ExpressResourceHandler;
let listenerServer: Server;

async function serve(handler: ExpressResourceHandler): Promise<Server> {
  const app = express();
  app.use(handler);
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const listening = app.listen(0, '127.0.0.1');
  await once(listening, 'listening');
  return listening;
}

beforeAll(async () => {
  issuer = await startIssuer(['EdDSA']);
  const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders' });
  server = await serve(
    expressResource({ source: bearer(verifier), metrics: { bearerToken: METRICS_TOKEN } }),
  );
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  listenerPort = await freePort();
  withListener = expressResource({
    source: bearer(verifier),
    metrics: { listen: { host: '127.0.0.1', port: listenerPort } },
  });
  listenerServer = await serve(withListener);
});

afterAll(async () => {
  server?.close();
  listenerServer?.close();
  await withListener?.close();
  await issuer?.close();
});

const token = () => {
  const key = issuer.keys.activeKey('EdDSA');
  return craft(key, header(key), claims(issuer.url, Math.floor(Date.now() / 1000), {}));
};

describe('expressResource with metrics', () => {
  it('counts by route template and status, refusals by code, behind the bearer token', async () => {
    expect(
      (await fetch(`${url}/orders/o-17`, { headers: { authorization: `Bearer ${token()}` } })).status,
    ).toBe(200);
    expect((await fetch(`${url}/orders/o-18`)).status).toBe(401);
    const refused = await fetch(`${url}/metrics`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'ERR_METRICS_UNAUTHORIZED' });
    const scrape = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(text).toContain('tessera_service_requests_total{route="/orders/:id",method="GET",status="200"} 1');
    // Refused before Express routed them (the middleware comes first): the 401 at /orders/o-18
    // and the refused scrape, by no route, never by their paths.
    expect(text).toContain('tessera_service_requests_total{route="unmatched",method="GET",status="401"} 2');
    expect(text).toContain('tessera_service_verify_failures_total{code="ERR_AUTH_REQUIRED"} 1');
    expect(text).not.toContain('o-17');
  });

  it('serves /metrics on a listener of its own, closed by close()', async () => {
    const scrape = await fetch(`http://127.0.0.1:${listenerPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('# TYPE tessera_service_verify_failures_total counter');
    const onPort = await fetch(`http://127.0.0.1:${(listenerServer.address() as AddressInfo).port}/metrics`);
    expect(onPort.status).toBe(401);
  });
});
