import { AccessTokenSigner, KeySet } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/redis-server.js';
import { tokenAuth } from '../src/auth.js';
import { createInventoryService } from '../src/inventory.js';
import { createPaymentsService } from '../src/payments.js';

// /metrics of a shop service over real HTTP, from @tessera/resource's Fastify adapter, with the
// exposure options every part shares (core's metrics schema): off by default, a bearer token on
// the service's port, or a listener of its own.
const issuer = 'http://127.0.0.1:9';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef-0123456789';
let signer: AccessTokenSigner;
let keys: KeySet;

beforeAll(async () => {
  keys = await KeySet.generate();
  signer = new AccessTokenSigner({ keys, issuer });
});

const token = (scopes: string[]) =>
  signer.issue({ subject: 'alice-id', clientId: 'shop-cli', audience: 'inventory', authTime: 1, scopes })
    .token;

describe('inventory /metrics behind a bearer token', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await createInventoryService({
      auth: tokenAuth({ issuer, keys }),
      metrics: { bearerToken: METRICS_TOKEN },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses a scrape without the token (401, a stable code) and serves one with it', async () => {
    const bare = await fetch(`${base}/metrics`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await bare.json()).toMatchObject({ error: { code: 'ERR_METRICS_UNAUTHORIZED' } });
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
  });

  it('counts requests and latency by route template and status, and refused credentials by code', async () => {
    const ok = await fetch(`${base}/items`, {
      headers: { authorization: `Bearer ${token(['inventory:read'])}` },
    });
    expect(ok.status).toBe(200);
    const missing = await fetch(`${base}/items`);
    expect(missing.status).toBe(401);
    const forged = await fetch(`${base}/items`, {
      headers: { authorization: `Bearer ${token(['inventory:read']).slice(0, -4)}AAAA` },
    });
    expect(forged.status).toBe(401);
    const scrape = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const text = await scrape.text();
    expect(text).toContain('tessera_service_requests_total{route="/items",method="GET",status="200"} 1');
    expect(text).toContain('tessera_service_requests_total{route="/items",method="GET",status="401"} 2');
    expect(text).toMatch(
      /tessera_service_request_duration_seconds_count\{route="\/items",method="GET",status="200"\} 1/,
    );
    expect(text).toContain('tessera_service_verify_failures_total{code="ERR_AUTH_REQUIRED"} 1');
    expect(text).toMatch(/tessera_service_verify_failures_total\{code="ERR_JWS_SIGNATURE_INVALID"\} 1/);
    // The raw path and the token never appear: only route templates and codes.
    expect(text).not.toContain('Bearer');
  });
});

describe('payments /metrics on a listener of its own, and nowhere by default', () => {
  let own: FastifyInstance;
  let none: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    own = await createPaymentsService({
      auth: tokenAuth({ issuer, keys }),
      metrics: { listen: { host: '127.0.0.1', port } },
    });
    none = await createPaymentsService({ auth: tokenAuth({ issuer, keys }) });
    await own.listen({ host: '127.0.0.1', port: 0 });
    await none.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await own?.close();
    await none?.close();
  });

  it('serves /metrics on the listener only (404 on the service port); without the option there is no /metrics', async () => {
    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('# TYPE tessera_service_requests_total counter');
    const onPublicPort = await fetch(
      `http://127.0.0.1:${(own.server.address() as { port: number }).port}/metrics`,
    );
    expect(onPublicPort.status).toBe(404);
    const byDefault = await fetch(
      `http://127.0.0.1:${(none.server.address() as { port: number }).port}/metrics`,
    );
    expect(byDefault.status).toBe(404);
  });

  it('refuses a metrics option that is not one of the three (a short token)', async () => {
    await expect(
      createPaymentsService({ auth: tokenAuth({ issuer, keys }), metrics: { bearerToken: 'short' } }),
    ).rejects.toThrow(/metrics: at least 32 characters/);
  });
});
