import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError, HttpError } from '@tessera/core';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craft, header } from '../../../test/support/craft.js';
import { type FakeIssuer, startIssuer } from '../../../test/support/issuer.js';
import { authorize, expressResource, principalOf } from '../src/adapters/express.js';
import { requireScope } from '../src/authorize/policy.js';
import { ResourceError } from '../src/errors.js';
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
    expect(bad.body).toMatchObject({ error: { code: 'ERR_JWT_AUDIENCE_INVALID' } });
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
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
    expect(form.body.error?.code).toBe('ERR_AUTH_INVALID_REQUEST');
  });

  it('routes mounted before it stay public', async () => {
    expect((await call(`${url}/health`)).status).toBe(200);
  });
});

describe("the Express middleware's error handler", () => {
  let routes: Server;
  let base: string;
  const answered: { code: string; status: number }[] = [];

  beforeAll(async () => {
    const verifier = await createVerifier({ issuer: issuer.url, audience: 'orders' });
    const resource = expressResource({
      source: bearer(verifier),
      onErrorAnswer: (answer) => answered.push({ code: answer.error.code, status: answer.status }),
    });
    const app = express();
    app.use(resource);
    app.post('/json', express.json({ limit: 64 }), (req, res) => {
      res.json({ got: req.body as unknown });
    });
    app.get('/refused', () => {
      throw new ResourceError('ERR_UPSTREAM_TOKEN_FAILED', 'inventory would not take the call');
    });
    app.get('/scope', () => {
      throw new AuthError('ERR_AUTH_INSUFFICIENT_SCOPE', 'orders:admin is needed', {
        scope: ['orders:admin'],
      });
    });
    app.get('/crash', () => {
      throw new Error('db password=hunter2 at /srv/app/orders.js:12');
    });
    app.get('/async', async (_req, _res, next) => {
      next(new HttpError('ERR_HTTP_NOT_FOUND', 'no such order'));
    });
    app.get('/started', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      throw new Error('after the answer began');
    });
    app.use(resource.errorHandler);
    routes = app.listen(0, '127.0.0.1');
    await once(routes, 'listening');
    base = `http://127.0.0.1:${(routes.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    routes?.close();
  });

  it("answers a route's error of the hierarchy with its status and code, in core's JSON body", async () => {
    const answer = await call(`${base}/refused`, bearerHeader(token()));
    expect(answer.status).toBe(502);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    // A 5xx's message is not the route's: the generic one.
    expect(answer.body).toEqual({ error: { code: 'ERR_UPSTREAM_TOKEN_FAILED', message: 'internal error' } });
    const missing = await call(`${base}/async`, bearerHeader(token()));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'ERR_HTTP_NOT_FOUND', message: 'no such order' } });
  });

  it('carries the RFC 6750 3 challenge of the source for a refusal a route throws', async () => {
    const answer = await call(`${base}/scope`, bearerHeader(token()));
    expect(answer.status).toBe(403);
    expect(answer.body.error?.code).toBe('ERR_AUTH_INSUFFICIENT_SCOPE');
    expect(answer.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="orders:admin is needed", scope="orders:admin"',
    );
  });

  it('answers anything else 500 ERR_INTERNAL, with no stack and nothing of its message', async () => {
    const answer = await call(`${base}/crash`, bearerHeader(token()));
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(answer.text).not.toMatch(/hunter2|orders\.js|<html|Error:/);
    expect(answered).toContainEqual({ code: 'ERR_INTERNAL', status: 500 });
  });

  it("answers express.json()'s refusals as core's ERR_HTTP codes, not Express's HTML", async () => {
    const post = (body: string) =>
      call(`${base}/json`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
        body,
      });
    const bad = await post('{"a":');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('ERR_HTTP_BODY_INVALID');
    const large = await post(JSON.stringify({ a: 'x'.repeat(200) }));
    expect(large.status).toBe(413);
    expect(large.body.error?.code).toBe('ERR_HTTP_BODY_TOO_LARGE');
    expect((await post('{"a":1}')).body).toEqual({ got: { a: 1 } });
  });

  it('leaves an answer already under way to Express, which ends it', async () => {
    const before = answered.length;
    const answer = await fetch(`${base}/started`, bearerHeader(token())).then(
      async (response) => ({ status: response.status, text: await response.text().catch(() => 'cut') }),
      () => ({ status: 0, text: 'cut' }),
    );
    expect(answer.text).not.toContain('ERR_INTERNAL');
    expect(answer.status === 0 || answer.status === 200).toBe(true);
    expect(answered).toHaveLength(before);
  });
});
