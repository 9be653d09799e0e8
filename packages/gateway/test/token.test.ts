import type { AddressInfo } from 'node:net';
import { AccessTokenSigner, KeySet } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../../../test/support/raw-http.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { parseGatewayConfig } from '../src/config.js';

const issuer = 'https://auth.test';
let upstream: Upstream;
let gateway: FastifyInstance;
let base: string;
let keys: KeySet;
let signer: AccessTokenSigner;

beforeAll(async () => {
  upstream = await startUpstream();
  keys = await KeySet.generate();
  signer = new AccessTokenSigner({ keys, issuer });
  const config = parseGatewayConfig({
    token: { issuer, audience: 'gateway' },
    routes: [
      { prefix: '/api/orders', upstream: upstream.url, auth: 'token', scopes: ['orders:read'] },
      { prefix: '/api/any', upstream: upstream.url, auth: 'token' },
    ],
  });
  gateway = await createGateway(config, { tokenKeys: keys });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function token(claims: Partial<{ audience: string; scopes: string[] }> = {}): string {
  return signer.issue({
    subject: 'alice',
    clientId: 'shop',
    audience: claims.audience ?? 'gateway',
    scopes: claims.scopes ?? ['orders:read'],
  }).token;
}

async function call(path: string, headers: Record<string, string>) {
  const response = await request(`${base}${path}`, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

describe('token routes', () => {
  it('verifies the bearer at the edge and passes the same token on', async () => {
    const valid = token();
    const { status, text } = await call('/api/orders/1', {
      authorization: `bearer ${valid}`,
      'x-user-id': 'admin',
    });
    expect(status).toBe(200);
    const echo = JSON.parse(text) as Echo;
    expect(echo.headers.authorization).toBe(`Bearer ${valid}`);
    expect(echo.headers['x-user-id']).toBeUndefined();
  });

  it('answers 401 with WWW-Authenticate for a missing, expired, foreign-audience or alg-none token', async () => {
    const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${token().split('.')[1]}.`;
    const expired = new AccessTokenSigner({ keys, issuer, now: () => Date.now() - 3_600_000 }).issue({
      subject: 'alice',
      clientId: 'shop',
      audience: 'gateway',
      scopes: ['orders:read'],
    }).token;
    const cases: Record<string, string | undefined> = {
      missing: undefined,
      expired,
      audience: token({ audience: 'payments' }),
      none,
      garbage: 'not a token',
    };
    for (const [name, value] of Object.entries(cases)) {
      const headers: Record<string, string> = value === undefined ? {} : { authorization: `Bearer ${value}` };
      const answer = await call('/api/orders', headers);
      expect(answer.status, name).toBe(401);
      expect(String(answer.headers['www-authenticate']), name).toMatch(/^Bearer/);
      if (value !== undefined) expect(answer.text, name).not.toContain(value);
      expect(answer.text).not.toMatch(/at .*\.js/);
    }
  });

  it('answers 403 insufficient_scope when the route needs a scope the token lacks', async () => {
    const answer = await call('/api/orders', {
      authorization: `Bearer ${token({ scopes: ['inventory:read'] })}`,
    });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text)).toMatchObject({ error: 'insufficient_scope' });
    expect(String(answer.headers['www-authenticate'])).toContain('scope="orders:read"');
    expect((await call('/api/any', { authorization: `Bearer ${token({ scopes: [] })}` })).status).toBe(200);
  });

  it('refuses a session cookie with a bearer token, and a token in the query, with 400 invalid_request', async () => {
    const both = await call('/api/orders', {
      authorization: `Bearer ${token()}`,
      cookie: '__Host-tessera-sid=abc',
    });
    expect(both.status).toBe(400);
    expect(JSON.parse(both.text)).toMatchObject({ error: 'invalid_request' });
    expect((await call(`/api/orders?access_token=${token()}`, {})).status).toBe(400);
  });

  it('refuses two Authorization headers with 400 invalid_request, the token cached or not (F 84)', async () => {
    const seen = token();
    expect((await call('/api/orders', { authorization: `Bearer ${seen}` })).status).toBe(200);
    for (const second of [seen, token()]) {
      const twice = await rawRequest(base, '/api/orders', {
        headers: { authorization: [`Bearer ${seen}`, `Bearer ${second}`] },
      });
      expect(twice.status).toBe(400);
      expect(JSON.parse(twice.text)).toMatchObject({ error: 'invalid_request' });
    }
  });
});
