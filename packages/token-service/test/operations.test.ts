import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

function capture(): { lines: string[]; logger: pino.Logger } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe.each(databases)('health, metrics, clients and logs on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  const log = capture();

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      logger: log.logger,
      metrics: { public: true },
      clients: [orders, { ...orders, client_id: 'weak', client_secret: 'short-secret' }],
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  const token = (authorization: string, body = 'grant_type=client_credentials') =>
    fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      body,
    });

  it('/healthz and /readyz answer 200 while the database and the store are reachable', async () => {
    const response = await fetch(`${harness.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${harness.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'ok', store: 'ok' } });
  });

  it('/metrics counts tokens by grant, errors by our code and their RFC 6749 error, and request latency', async () => {
    expect((await token(basic('orders', ORDERS_SECRET))).status).toBe(200);
    expect((await token(basic('orders', 'wrong'))).status).toBe(401);
    expect((await fetch(`${harness.url}/no-such-endpoint`)).status).toBe(404);
    const response = await fetch(`${harness.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/tessera_tokens_issued_total\{grant_type="client_credentials"\} [1-9]/);
    // By our code, the one convention, and by the RFC 6749 5.2 error the client read.
    expect(text).toMatch(
      /tessera_oauth_errors_total\{code="ERR_OAUTH_INVALID_CLIENT",error="invalid_client"\} [1-9]/,
    );
    expect(text).toMatch(
      /tessera_oauth_errors_total\{code="ERR_HTTP_NOT_FOUND",error="invalid_request"\} [1-9]/,
    );
    expect(text).not.toMatch(/tessera_oauth_errors_total\{error=/);
    expect(text).toMatch(
      /tessera_http_request_duration_seconds_count\{method="POST",route="\/token",status_code="200"\} [1-9]/,
    );
  });

  it('a seeded secret shorter than 32 characters logs a warning (outside dev), never the secret', () => {
    const warning = log.lines.find((line) => line.includes('client weak'));
    expect(warning).toMatch(/shorter than 32/);
    expect(log.lines.join('\n')).not.toContain('short-secret');
  });

  it('logs never contain a secret or a token', async () => {
    await token(basic('orders', ORDERS_SECRET));
    await fetch(`${harness.url}/token?client_secret=${ORDERS_SECRET}`, { method: 'POST' });
    const all = log.lines.join('\n');
    expect(all).not.toContain(ORDERS_SECRET);
    expect(all).not.toContain('eyJ');
  });

  it('a removed client stops authenticating at once', async () => {
    await harness.service.clients.upsert({ ...orders, client_id: 'temp' });
    expect((await token(basic('temp', ORDERS_SECRET))).status).toBe(200);
    expect(await harness.service.clients.remove('temp')).toBe(true);
    expect((await token(basic('temp', ORDERS_SECRET))).status).toBe(401);
  });

  it('the seed is idempotent: upserting the same client twice changes nothing', async () => {
    const before = await harness.service.clients.find('orders');
    await harness.service.clients.upsert(orders);
    harness.service.clients.invalidate();
    const after = await harness.service.clients.find('orders');
    expect(after).toEqual(before);
    await expect(harness.service.clients.register(orders)).rejects.toMatchObject({
      code: 'ERR_CLIENT_EXISTS',
    });
  });

  it('discovery and jwks may be cached; token answers may not', async () => {
    const discovery = await fetch(`${harness.url}/.well-known/openid-configuration`);
    expect(discovery.headers.get('cache-control')).toMatch(/^public/);
    expect(discovery.headers.get('pragma')).toBeNull();
    const jwks = await fetch(`${harness.url}/jwks`);
    expect(jwks.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
    expect((await fetch(`${harness.url}/jwks`, { method: 'POST' })).status).toBe(405);
  });
});

describe('health when the database is gone', () => {
  it('/readyz answers 503 naming the database; /healthz (liveness) still answers 200', async () => {
    const database = await databases[0]?.create();
    if (database === undefined) throw new Error('no sqlite fixture');
    const harness = await startService(database);
    try {
      await harness.db.destroy();
      const ready = await fetch(`${harness.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        status: 'unavailable',
        checks: { database: 'unavailable', store: 'ok' },
      });
      const live = await fetch(`${harness.url}/healthz`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'ok' });
    } finally {
      await harness.stop().catch(() => {});
      await database.cleanup();
    }
  });
});
