import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craft, header } from '../../../test/support/craft.js';
import { type FakeIssuer, startIssuer } from '../../../test/support/issuer.js';
import { authorize, expressResource, principalOf } from '../src/adapters/express.js';
import { requireScope } from '../src/authorize/policy.js';
import { bearer } from '../src/identity/bearer.js';
import { createVerifier } from '../src/verify/verifier.js';
import { claims } from './support/claims.js';
import { rawGet } from './support/raw.js';
import { bearerHeader, call } from './support/service.js';

let issuer: FakeIssuer;
let server: Server;
let url: string;

beforeAll(async () => {
  issuer = await startIssuer(['EdDSA']);
  const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders' });
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(expressResource({ source: bearer(verifier) }));
  app.get('/orders', (req, res) => {
    res.json({ sub: principalOf(req).subject });
  });
  app.post('/orders', authorize(requireScope('orders:write')), (_req, res) => {
    res.status(201).json({ created: true });
  });
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  await issuer?.close();
});

const token = (extra: Record<string, unknown> = {}) => {
  const key = issuer.keys.activeKey('EdDSA');
  return craft(key, header(key), claims(issuer.url, Math.floor(Date.now() / 1000), extra));
};

describe('the Express middleware', () => {
  it('serves a valid token and exposes the principal', async () => {
    const answer = await call(`${url}/orders`, bearerHeader(token()));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ sub: 'alice' });
  });

  it('answers RFC 6750: no credentials, invalid token, missing scope', async () => {
    const none = await call(`${url}/orders`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const bad = await call(`${url}/orders`, bearerHeader(token({ aud: 'payments' })));
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: 'invalid_token', code: 'ERR_JWT_AUDIENCE_INVALID' });
    const scope = await call(`${url}/orders`, { method: 'POST', ...bearerHeader(token()) });
    expect(scope.status).toBe(403);
    expect(scope.headers.get('www-authenticate')).toContain('scope="orders:write"');
    const ok = await call(`${url}/orders`, {
      method: 'POST',
      ...bearerHeader(token({ scope: 'orders:write' })),
    });
    expect(ok.status).toBe(201);
  });

  it('F 84, 85: duplicated headers, a token in the query or in a form body are 400', async () => {
    const t = token();
    expect((await rawGet(`${url}/orders`, { authorization: [`Bearer ${t}`, `Bearer ${t}`] })).status).toBe(
      400,
    );
    expect((await call(`${url}/orders?access_token=${t}`)).status).toBe(400);
    const form = await call(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${t}` },
      body: `access_token=${t}`,
    });
    expect(form.status).toBe(400);
    expect(form.body.code).toBe('ERR_AUTH_INVALID_REQUEST');
  });

  it('routes mounted before it stay public', async () => {
    expect((await call(`${url}/health`)).status).toBe(200);
  });
});
