import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Base64url } from '@tessera/core';
import { createSessionReferences, SESSION_REFERENCE_HEADER } from '@tessera/resource/session';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { LogCapture } from '../../../test/support/logs.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { parseGatewayConfig } from '../src/config.js';

const prefix = `test:gateway:${randomBytes(6).toString('hex')}:`;
// The key of the one edge here, gateway -> orders.
const ordersKey = { id: 'k1', secret: randomBytes(32).toString('base64url') };
const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-session-'));
const logs = new LogCapture();
let upstream: Upstream;
const gateways: FastifyInstance[] = [];
const bases: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  const config = parseGatewayConfig({
    session: {
      store: { type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: prefix },
      insecureHttpLocalhost: true,
    },
    // Looks for users disabled by other processes every 50 ms; the default is 5 s.
    identity: { database: `sqlite:${join(dir, 'identity.db')}`, deactivationPollMs: 50 },
    routes: [
      {
        prefix: '/api/orders',
        upstream: upstream.url,
        auth: 'session',
        audience: 'orders',
        stripPrefix: true,
      },
    ],
  });
  for (let i = 0; i < 2; i++) {
    const gateway = await createGateway(config, {
      sessionReferenceKeys: { orders: ordersKey },
      logDestination: logs,
    });
    await gateway.listen({ host: '127.0.0.1', port: 0 });
    gateways.push(gateway);
    bases.push(`http://localhost:${(gateway.server.address() as AddressInfo).port}`);
  }
  const { directory, db } = await directoryOf(0);
  await directory.create('alice', 'alice-password');
  await directory.create('bob', 'bob-password');
  await directory.create('carol', 'carol-password');
  await db.destroy();
});

// The session mode is reached through the app only in tests, via a decoration-free path: log in.
async function directoryOf(_index: number) {
  const { openUserDirectory } = await import('@tessera/identity');
  const { createDatabase, parseDatabaseUrl } = await import('@tessera/storage/sql');
  const db = await createDatabase(parseDatabaseUrl(`sqlite:${join(dir, 'identity.db')}`));
  return { directory: await openUserDirectory({ db }), db };
}

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await upstream.close();
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(
  at: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const response = await request(`${bases[at]}${path}`, {
    method: method as 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

async function login(at: number, username: string, password: string): Promise<string> {
  const answer = await call(
    at,
    'POST',
    '/auth/login',
    { 'content-type': 'application/json' },
    JSON.stringify({ username, password }),
  );
  expect(answer.status).toBe(204);
  expect(answer.headers['cache-control']).toBe('no-store');
  const cookie = String(answer.headers['set-cookie']).split(';')[0] as string;
  expect(cookie).toMatch(/^tessera-sid=[A-Za-z0-9_-]{43}$/);
  return cookie;
}

describe('session routes on two gateways sharing Redis (docs/security.md F86, F102)', () => {
  it('signs a user disabled by another process (tessera users disable) out of every gateway within a poll', async () => {
    const onA = await login(0, 'carol', 'carol-password');
    const onB = await login(1, 'carol', 'carol-password');
    const alice = await login(0, 'alice', 'alice-password');
    const proxied = (at: number, cookie: string) => call(at, 'GET', '/api/orders/mine', { cookie });
    expect((await proxied(1, onA)).status).toBe(200);
    expect((await proxied(0, onB)).status).toBe(200);

    // Another process: its own connection and directory, no listener, as the CLI has.
    const { directory, db } = await directoryOf(0);
    try {
      const carol = await directory.findByUsername('carol');
      await directory.disable(carol?.id as string);
    } finally {
      await db.destroy();
    }
    // Proxied routes read no user (only /auth/me does): the sessions themselves must end.
    await eventually(async () => expect((await proxied(0, onB)).status).toBe(401));
    expect((await proxied(1, onA)).status).toBe(401);
    expect((await proxied(1, alice)).status).toBe(200);
  });

  it('logs in on A, proxies through B with a session reference instead of the cookie', async () => {
    const cookie = await login(0, 'alice', 'alice-password');
    const me = await call(1, 'GET', '/auth/me', { cookie });
    expect(me.status).toBe(200);
    const body = JSON.parse(me.text) as { subject: string; username: string; csrf_token: string };
    expect(body.username).toBe('alice');
    expect(body.csrf_token.length).toBeGreaterThan(20);

    const proxied = await call(1, 'GET', '/api/orders/mine', { cookie, 'x-user-id': 'bob' });
    expect(proxied.status).toBe(200);
    const echo = JSON.parse(proxied.text) as Echo;
    expect(echo.headers.cookie).toBeUndefined();
    expect(echo.headers['x-user-id']).toBeUndefined();
    const reference = String(echo.headers[SESSION_REFERENCE_HEADER]);
    // The service opens it with its key for the gateway, for the route it was called on: it names
    // the session by its store key (the id's hash) and the gateway as the chain.
    const orders = createSessionReferences({ self: 'orders', accept: { gateway: [ordersKey] } });
    const opened = orders.open(reference, 'GET /mine');
    expect(opened.sessionHash).toBe(sha256Base64url(cookie.split('=')[1] as string));
    expect(opened.chain).toEqual(['gateway']);
    expect(reference).not.toContain(cookie.split('=')[1]);
    const payments = createSessionReferences({ self: 'payments', accept: { gateway: [ordersKey] } });
    expect(() => payments.open(reference, 'GET /mine')).toThrow();
    // What the service opened is no cookie here: it hashes again and names no session.
    const asCookie = await call(1, 'GET', '/api/orders/mine', {
      cookie: `tessera-sid=${opened.sessionHash}`,
    });
    expect(asCookie.status).toBe(401);
  });

  it('refuses unsafe requests without the CSRF token, from a foreign origin or cross-site; accepts them with it', async () => {
    const cookie = await login(0, 'alice', 'alice-password');
    const csrf = (JSON.parse((await call(0, 'GET', '/auth/me', { cookie })).text) as { csrf_token: string })
      .csrf_token;
    const json = { cookie, 'content-type': 'application/json' };
    expect((await call(1, 'POST', '/api/orders', json, '{}')).status).toBe(403);
    expect((await call(1, 'POST', '/api/orders', { ...json, 'x-csrf-token': 'wrong' }, '{}')).status).toBe(
      403,
    );
    const foreign = await call(
      1,
      'POST',
      '/api/orders',
      { ...json, 'x-csrf-token': csrf, origin: 'https://evil.example' },
      '{}',
    );
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.text)).toMatchObject({ error: { code: 'ERR_CSRF_ORIGIN_MISMATCH' } });
    const site = await call(
      1,
      'POST',
      '/api/orders',
      { ...json, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
      '{}',
    );
    expect(site.status).toBe(403);
    const ok = await call(1, 'POST', '/api/orders', { ...json, 'x-csrf-token': csrf }, '{"item":1}');
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.text) as Echo).headers['x-csrf-token']).toBe(csrf);
  });

  it('refuses a cookie with a bearer token (400) and a request without a session (401)', async () => {
    const cookie = await login(0, 'alice', 'alice-password');
    const both = await call(1, 'GET', '/api/orders', { cookie, authorization: 'Bearer abc' });
    expect(both.status).toBe(400);
    expect(JSON.parse(both.text)).toMatchObject({ error: { code: 'ERR_AUTH_INVALID_REQUEST' } });
    expect((await call(1, 'GET', '/api/orders')).status).toBe(401);
    expect((await call(1, 'GET', '/api/orders?access_token=abc', { cookie })).status).toBe(400);
  });

  it('refuses a request carrying the session cookie under both names (400), and reads one name only', async () => {
    // This deployment (insecureHttpLocalhost, plain http to localhost) reads tessera-sid.
    const alice = await login(0, 'alice', 'alice-password');
    const bob = `__Host-${await login(0, 'bob', 'bob-password')}`;
    const before = upstream.seen.length;
    for (const cookie of [`${alice}; ${bob}`, `${bob}; ${alice}`]) {
      const proxied = await call(1, 'GET', '/api/orders/mine', { cookie });
      expect(proxied.status).toBe(400);
      expect(JSON.parse(proxied.text)).toMatchObject({ error: { code: 'ERR_AUTH_INVALID_REQUEST' } });
      const me = await call(1, 'GET', '/auth/me', { cookie });
      expect(me.status).toBe(400);
      expect(JSON.parse(me.text)).toMatchObject({ error: { code: 'ERR_AUTH_INVALID_REQUEST' } });
    }
    expect(upstream.seen.length).toBe(before);
    // The other spelling alone is not this deployment's cookie: no session.
    expect((await call(1, 'GET', '/api/orders/mine', { cookie: bob })).status).toBe(401);
    // Neither spelling may be set by an upstream.
    const planted = await call(1, 'GET', '/api/orders/mine', {
      cookie: alice,
      'x-echo-response-headers': JSON.stringify({
        'set-cookie': ['tessera-sid=planted', '__Host-tessera-sid=planted; Secure; Path=/'],
      }),
    });
    expect(planted.status).toBe(200);
    expect(planted.headers['set-cookie']).toBeUndefined();
  });

  it('logs out on A and B refuses the old cookie at once', async () => {
    const cookie = await login(0, 'alice', 'alice-password');
    const csrf = (JSON.parse((await call(1, 'GET', '/auth/me', { cookie })).text) as { csrf_token: string })
      .csrf_token;
    const out = await call(0, 'POST', '/auth/logout', { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    expect(out.headers['clear-site-data']).toBe('"cookies"');
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await call(1, 'GET', '/api/orders', { cookie })).status).toBe(401);
    expect((await call(1, 'GET', '/auth/me', { cookie })).status).toBe(401);
  });

  it('answers a wrong password 401 and never adopts a sent session id', async () => {
    const wrong = await call(
      0,
      'POST',
      '/auth/login',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'username=bob&password=nope',
    );
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text)).toEqual({
      error: { code: 'ERR_CREDENTIALS_INVALID', message: 'invalid username or password' },
    });
    const planted = `tessera-sid=${randomBytes(32).toString('base64url')}`;
    const answer = await call(
      0,
      'POST',
      '/auth/login',
      { cookie: planted, 'content-type': 'application/x-www-form-urlencoded' },
      'username=bob&password=bob-password',
    );
    expect(answer.status).toBe(204);
    expect(String(answer.headers['set-cookie']).split(';')[0]).not.toBe(planted);
  });

  it('rate-limits failed logins with 429 and Retry-After', async () => {
    let last: Answer | undefined;
    for (let i = 0; i < 8 && last?.status !== 429; i++) {
      last = await call(
        1,
        'POST',
        '/auth/login',
        { 'content-type': 'application/json' },
        '{"username":"carol","password":"guess-guess"}',
      );
    }
    expect(last?.status).toBe(429);
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('writes no password, cookie or reference into the logs', () => {
    expect(logs.text).not.toMatch(/alice-password|bob-password|guess-guess|tessera-sid=|v1\./);
    expect(logs.entries().some((entry) => entry.mode === 'session' && entry.status === 200)).toBe(true);
  });
});
