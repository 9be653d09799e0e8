import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { certificateThumbprint } from '@tessera/core';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedCertificate } from '../../../test/support/certificates.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { MTLS_ISSUER, type MtlsHarness, startMtlsService } from '../../../test/support/token-service/mtls.js';
import { expressResource, principalOf } from '../src/adapters/express.js';
import { fastifyResource } from '../src/adapters/fastify.js';
import { createServiceClient, createTokenExchanger } from '../src/client/service-client.js';
import { bearer } from '../src/identity/bearer.js';
import { createVerifier, type Verifier } from '../src/verify/verifier.js';

// Certificate-bound access tokens at a resource server (RFC 8705 3), over real TLS: the token
// service issues a token bound to certificate A (tls_client_auth); a Fastify and an Express
// service on HTTPS listeners that ask for client certificates take it only from a connection whose
// peer certificate is A. docs/security.md C156, C157.

const SECRET = 'plain-secret-0123456789abcdef-0123456789';

/** A service's answer: its status, its `WWW-Authenticate`, its JSON body. */
type Answer = { status: number; challenge?: string; body: Record<string, unknown> };

let issuer: MtlsHarness;
let database: TestDatabase;
let verifier: Verifier;
let certA: IssuedCertificate;
let certB: IssuedCertificate;
let serverCert: IssuedCertificate;
let fastifyUrl: string;
let plainUrl: string;
const apps: FastifyInstance[] = [];

/** What each service answers: who called, what the token is bound to, and the token it received. */
function echo(principal: { subject: string; binding?: unknown }, authorization: string | undefined) {
  return { sub: principal.subject, binding: principal.binding, received: authorization };
}

function tlsOptions() {
  // Asks for a certificate, accepts a handshake without one: the token's binding decides.
  return {
    cert: serverCert.cert,
    key: serverCert.key,
    ca: issuer.ca.cert,
    requestCert: true,
    rejectUnauthorized: false,
  };
}

async function fastifyService(https: boolean): Promise<string> {
  // One type for both: the routes read only what an HTTP and an HTTPS request share.
  const app = (https ? Fastify({ https: tlsOptions() }) : Fastify()) as unknown as FastifyInstance;
  await app.register(fastifyResource, { source: bearer(verifier) });
  app.get('/stock', async (req) => echo(req.principal as { subject: string }, req.headers.authorization));
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function call(url: string, token: string, certificate?: IssuedCertificate): Promise<Answer> {
  const answer = await request(url, {
    headers: { authorization: `Bearer ${token}` },
    dispatcher: issuer.agent(certificate),
  });
  const challenge = answer.headers['www-authenticate'];
  return {
    status: answer.statusCode,
    ...(typeof challenge === 'string' ? { challenge } : {}),
    body: (await answer.body.json()) as Record<string, unknown>,
  };
}

function expectRefused(answer: Answer, code: string): void {
  expect(answer.status).toBe(401);
  expect(answer.challenge).toMatch(/^Bearer error="invalid_token"/);
  expect(answer.body).toMatchObject({ error: { code } });
}

async function tokenFor(clientId: string, certificate: IssuedCertificate): Promise<string> {
  const answer = await issuer.post(
    '/token',
    { grant_type: 'client_credentials', client_id: clientId },
    certificate,
  );
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

beforeAll(async () => {
  database = await sqlite.create();
  issuer = await startMtlsService(database, [
    {
      client_id: 'orders',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_san_dns: 'orders.shop.test',
      tls_client_certificate_bound_access_tokens: true,
      grant_types: ['client_credentials'],
      scopes: ['inventory:reserve'],
      audiences: ['inventory'],
    },
    {
      client_id: 'reports',
      client_secret: SECRET,
      grant_types: ['client_credentials'],
      scopes: ['inventory:reserve'],
      audiences: ['inventory'],
    },
  ]);
  certA = await issuer.ca.issue({ subject: 'CN=orders', dns: ['orders.shop.test'], usage: 'client' });
  certB = await issuer.ca.issue({ subject: 'CN=payments', dns: ['payments.shop.test'], usage: 'client' });
  serverCert = await issuer.ca.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], usage: 'server' });
  // The verified-token cache is on: a cached token must still come over its certificate.
  verifier = await createVerifier({
    issuer: MTLS_ISSUER,
    audience: 'inventory',
    keys: issuer.service.keys.keySet,
    cache: true,
  });
  fastifyUrl = `${await fastifyService(true)}/stock`;
  plainUrl = `${await fastifyService(false)}/stock`;
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await issuer?.stop();
  await database?.cleanup();
});

const thumbprintOf = (certificate: IssuedCertificate) =>
  certificateThumbprint(new X509Certificate(certificate.cert));

describe('certificate-bound tokens at a resource server (RFC 8705 3)', () => {
  it('C156: a token bound to certificate A is accepted over a connection presenting A, twice (the second from the cache)', async () => {
    const token = await tokenFor('orders', certA);
    for (let i = 0; i < 2; i++) {
      const answer = await call(fastifyUrl, token, certA);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        sub: 'orders',
        binding: { type: 'mtls', x5tS256: thumbprintOf(certA) },
      });
    }
  });

  it('C156: the token bound to A over a connection presenting B (same CA): 401 invalid_token, before and after a cached success', async () => {
    const token = await tokenFor('orders', certA);
    expectRefused(await call(fastifyUrl, token, certB), 'ERR_MTLS_CERTIFICATE_MISMATCH');
    expect((await call(fastifyUrl, token, certA)).status).toBe(200);
    expectRefused(await call(fastifyUrl, token, certB), 'ERR_MTLS_CERTIFICATE_MISMATCH');
  });

  it('C156: the token bound to A with no client certificate, or over plain HTTP: 401 invalid_token', async () => {
    const token = await tokenFor('orders', certA);
    expectRefused(await call(fastifyUrl, token), 'ERR_MTLS_CERTIFICATE_REQUIRED');
    const plain = await request(plainUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(plain.statusCode).toBe(401);
    expect(await plain.body.json()).toMatchObject({ error: { code: 'ERR_MTLS_CERTIFICATE_REQUIRED' } });
  });

  it('C157: a token taken from what the backend received, replayed with another certificate: refused', async () => {
    const token = await tokenFor('orders', certA);
    const received = await call(fastifyUrl, token, certA);
    expect(received.status).toBe(200);
    const stolen = (received.body.received as string).slice('Bearer '.length);
    expect(stolen).toBe(token);
    expectRefused(await call(fastifyUrl, stolen, certB), 'ERR_MTLS_CERTIFICATE_MISMATCH');
    expectRefused(await call(fastifyUrl, stolen), 'ERR_MTLS_CERTIFICATE_REQUIRED');
  });

  it('an unbound token is still a bearer token on the same listener, with a certificate or without', async () => {
    const answer = await issuer.post('/token', {
      grant_type: 'client_credentials',
      client_id: 'reports',
      client_secret: SECRET,
    });
    const token = answer.body.access_token as string;
    expect((await call(fastifyUrl, token)).status).toBe(200);
    expect((await call(fastifyUrl, token, certB)).status).toBe(200);
  });

  it('Express: the same binding, read from the request socket', async () => {
    const app = express();
    app.use(expressResource({ source: bearer(verifier) }));
    app.get('/stock', (req, res) => {
      res.json(echo(principalOf(req), req.headers.authorization));
    });
    const server: Server = createServer(tlsOptions(), app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/stock`;
    try {
      const token = await tokenFor('orders', certA);
      const accepted = await call(url, token, certA);
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ binding: { type: 'mtls', x5tS256: thumbprintOf(certA) } });
      expectRefused(await call(url, token, certB), 'ERR_MTLS_CERTIFICATE_MISMATCH');
      expectRefused(await call(url, token), 'ERR_MTLS_CERTIFICATE_REQUIRED');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("the service client: tls_client_auth by its dispatcher's certificate, and calls over it with the bound token", async () => {
    const dispatcher = issuer.agent(certA);
    const call = createServiceClient({
      tokenEndpoint: `${issuer.url}/token`,
      clientId: 'orders',
      dispatcher,
    });
    const answer = await call(fastifyUrl, { audience: 'inventory', scope: ['inventory:reserve'] });
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({
      sub: 'orders',
      binding: { type: 'mtls', x5tS256: thumbprintOf(certA) },
    });
    // The same client over another certificate is not orders at the token service.
    const impostor = createServiceClient({
      tokenEndpoint: `${issuer.url}/token`,
      clientId: 'orders',
      dispatcher: issuer.agent(certB),
    });
    await expect(impostor(fastifyUrl, { audience: 'inventory' })).rejects.toMatchObject({
      code: 'ERR_UPSTREAM_TOKEN_FAILED',
      message: expect.stringContaining('invalid_client'),
    });
  });

  it('a token client with neither a secret nor a dispatcher is refused at construction', () => {
    expect(() => createTokenExchanger({ tokenEndpoint: `${issuer.url}/token`, clientId: 'orders' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});
