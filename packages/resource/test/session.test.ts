import { createSessionManager } from '@tessera/session';
import { MemoryStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationOf } from '../src/adapters/fastify.js';
import { requireScope } from '../src/authorize/policy.js';
import { createServiceClient } from '../src/client/service-client.js';
import { createSessionReferences, SESSION_REFERENCE_HEADER, sessionSource } from '../src/session/index.js';
import { rawGet } from './support/raw.js';
import { call, startService } from './support/service.js';

// Session mode (SECURITY-CASES G 92): the gateway sends a signed, short-lived reference naming the
// service and route; the service opens it and reads the session from the shared store.

const SECRET = 'shared-gateway-secret-0123456789abcdef-0123';
const store = new MemoryStore({ prefix: 'resource-session-test:' });
const manager = createSessionManager<{ scopes?: string[] }>({ store });
const gateway = createSessionReferences({ secret: SECRET });
const apps: FastifyInstance[] = [];
let orders: string;
let payments: string;
let sessionId: string;

function sourceFor(audience: string) {
  return sessionSource({
    manager,
    references: { secret: SECRET },
    audience,
    scopesOf: (session) => session.data.scopes ?? [],
  });
}

beforeAll(async () => {
  sessionId = (await manager.create('alice', { scopes: ['orders:read'] })).id;
  const client = createServiceClient({
    tokenEndpoint: 'http://127.0.0.1:1/token',
    clientId: 'orders',
    clientSecret: 'unused-secret',
  });
  const paymentsService = await startService(sourceFor('payments'), {
    extra(app) {
      app.get('/balance', async (request) => ({
        sub: request.principal?.subject,
        aud: request.principal?.audience,
      }));
    },
  });
  payments = paymentsService.url;
  const ordersService = await startService(sourceFor('orders'), {
    extra(app) {
      app.get('/me', { config: { auth: { policy: requireScope('orders:read') } } }, async (request) => ({
        principal: request.principal,
      }));
      app.get('/pay', async (request) => {
        const response = await client(`${payments}/balance`, {
          audience: 'payments',
          on: authenticationOf(request),
        });
        return { status: response.status, body: await response.json() };
      });
    },
  });
  orders = ordersService.url;
  apps.push(paymentsService.app, ordersService.app);
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await store.close();
});

const withRef = (reference: string) => ({ headers: { [SESSION_REFERENCE_HEADER]: reference } });

describe('the session source', () => {
  it('a genuine reference yields the Principal of the session', async () => {
    const answer = await call(`${orders}/me`, withRef(gateway.sign(sessionId, 'orders', 'GET /me')));
    expect(answer.status).toBe(200);
    expect(answer.body.principal).toMatchObject({
      subject: 'alice',
      clientId: 'gateway',
      scopes: ['orders:read'],
      audience: ['orders'],
      issuer: 'urn:tessera:session',
      actors: [],
      claims: {},
    });
  });

  it('never carries the session id in the clear', () => {
    const reference = gateway.sign(sessionId, 'orders', 'GET /me');
    expect(reference).not.toContain(sessionId);
    expect(Buffer.from(reference.replaceAll('.', ''), 'base64url').toString('latin1')).not.toContain(
      sessionId,
    );
  });

  it('G 92: a forged reference is refused', async () => {
    const genuine = gateway.sign(sessionId, 'orders', 'GET /me');
    const flipped = `${genuine.slice(0, -2)}${genuine.at(-2) === 'A' ? 'B' : 'A'}${genuine.at(-1)}`;
    const otherSecret = createSessionReferences({ secret: 'another-secret-0123456789abcdef-0123456789' });
    const parts = genuine.split('.');
    parts[1] = Buffer.from('payments').toString('base64url');
    // A later expiry written over the genuine one: the seal authenticates every part before it.
    const extended = genuine.split('.');
    extended[3] = String(Number(extended[3]) + 3600);
    for (const reference of [
      flipped,
      otherSecret.sign(sessionId, 'orders', 'GET /me'),
      parts.join('.'),
      extended.join('.'),
      'v2....',
      'v1.....',
      'garbage',
      'x'.repeat(5000),
    ]) {
      const answer = await call(`${orders}/me`, withRef(reference));
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: 'invalid_token', code: 'ERR_SESSION_REFERENCE_INVALID' });
      expect(answer.headers.get('www-authenticate')).toMatch(/^TesseraSession error="invalid_token"/);
    }
  });

  it('gives the same reference again while half its lifetime is left, then a new one', () => {
    let clock = Date.now();
    const references = createSessionReferences({ secret: SECRET, now: () => clock });
    const first = references.sign(sessionId, 'orders', 'GET /me');
    expect(references.sign(sessionId, 'orders', 'GET /me')).toBe(first);
    expect(references.sign(sessionId, 'orders', 'GET /other')).not.toBe(first);
    expect(references.sign(sessionId, 'payments', 'GET /me')).not.toBe(first);
    clock += 16_000;
    const second = references.sign(sessionId, 'orders', 'GET /me');
    expect(second).not.toBe(first);
    expect(references.open(second, 'orders', 'GET /me').expiresAt).toBe(Math.floor(clock / 1000) + 30);
  });

  it('G 92: an expired reference is refused', async () => {
    const past = createSessionReferences({ secret: SECRET, now: () => Date.now() - 31_000 });
    const answer = await call(`${orders}/me`, withRef(past.sign(sessionId, 'orders', 'GET /me')));
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('ERR_SESSION_REFERENCE_EXPIRED');
  });

  it('G 92: a reference replayed at another route or another service is refused', async () => {
    const forMe = gateway.sign(sessionId, 'orders', 'GET /me');
    expect((await call(`${orders}/pay`, withRef(forMe))).body.code).toBe('ERR_SESSION_REFERENCE_INVALID');
    expect(
      (
        await call(`${orders}/me`, {
          method: 'GET',
          ...withRef(gateway.sign(sessionId, 'orders', 'POST /me')),
        })
      ).status,
    ).toBe(401);
    const replayed = await call(`${payments}/balance`, withRef(forMe));
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe('ERR_SESSION_REFERENCE_INVALID');
  });

  it('an ended session is refused; no reference is a bare challenge; two references are 400', async () => {
    const { id, session } = await manager.create('bob', {});
    const reference = gateway.sign(id, 'orders', 'GET /me');
    await manager.destroy(session);
    const ended = await call(`${orders}/me`, withRef(reference));
    expect(ended.status).toBe(401);
    expect(ended.body.code).toBe('ERR_SESSION_NOT_FOUND');
    const none = await call(`${orders}/me`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('TesseraSession');
    const ref = gateway.sign(sessionId, 'orders', 'GET /me');
    const twice = await rawGet(`${orders}/me`, { [SESSION_REFERENCE_HEADER]: [ref, ref] });
    expect(twice.status).toBe(400);
  });

  it('the service client passes the session on as a new reference for the next service and route', async () => {
    const answer = await call(`${orders}/pay`, withRef(gateway.sign(sessionId, 'orders', 'GET /pay')));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 200, body: { sub: 'alice', aud: ['payments'] } });
  });

  it('refuses a short secret at construction', () => {
    expect(() => createSessionReferences({ secret: 'short' })).toThrow(/32 bytes/);
  });
});
