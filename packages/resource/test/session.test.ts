import { createSessionManager } from '@tessera/session';
import { MemoryStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationOf } from '../src/adapters/fastify.js';
import { requireScope } from '../src/authorize/policy.js';
import { createServiceClient } from '../src/client/service-client.js';
import {
  createSessionReferences,
  deriveReferenceKey,
  keysByPart,
  type PartKeys,
  parseMintingKeys,
  parseReferenceKeys,
  SESSION_REFERENCE_HEADER,
  sessionSource,
} from '../src/session/index.js';
import { rawGet } from './support/raw.js';
import { call, startService } from './support/service.js';

// Session mode: the gateway sends a sealed, short-lived reference naming the
// service and route; the service opens it with its key for the gateway and reads the session from
// the shared store by its hash. Edges here: gateway -> orders, orders -> payments.

const MASTER = 'a-deployment-master-secret-0123456789abcdef';
const keyOf = (from: string, to: string) => deriveReferenceKey(MASTER, from, to, 'k1');
const parts = keysByPart(
  [
    ['gateway', 'orders'],
    ['orders', 'payments'],
  ],
  (from, to) => [keyOf(from, to)],
);
const store = new MemoryStore({ prefix: 'resource-session-test:' });
const manager = createSessionManager<{ scopes?: string[] }>({ store });
const gateway = createSessionReferences({ self: 'gateway', mint: parts.gateway?.mint ?? {} });
const apps: FastifyInstance[] = [];
let orders: string;
let payments: string;
let sessionId: string;
let sessionHash: string;

function sourceFor(audience: string) {
  const keys = parts[audience] as PartKeys;
  return sessionSource({
    manager,
    references: { self: audience, accept: keys.accept, mint: keys.mint },
    scopesOf: (session) => session.data.scopes ?? [],
  });
}

beforeAll(async () => {
  const created = await manager.create('alice', { scopes: ['orders:read'] });
  sessionId = created.id;
  sessionHash = created.session.idHash;
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
        client: request.principal?.clientId,
        actors: request.principal?.actors,
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
    const answer = await call(`${orders}/me`, withRef(gateway.mint(sessionHash, [], 'orders', 'GET /me')));
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

  it('never carries the session id, nor its hash in the clear', () => {
    const reference = gateway.mint(sessionHash, [], 'orders', 'GET /me');
    for (const secret of [sessionId, sessionHash]) {
      expect(reference).not.toContain(secret);
      expect(Buffer.from(reference.replaceAll('.', ''), 'base64url').toString('latin1')).not.toContain(
        secret,
      );
    }
  });

  it('G 92: a forged reference is refused', async () => {
    const genuine = gateway.mint(sessionHash, [], 'orders', 'GET /me');
    const flipped = `${genuine.slice(0, -2)}${genuine.at(-2) === 'A' ? 'B' : 'A'}${genuine.at(-1)}`;
    const otherKey = createSessionReferences({
      self: 'gateway',
      mint: { orders: { id: 'k1', secret: 'another-secret-0123456789abcdef-0123456789' } },
    });
    const retargeted = genuine.split('.');
    retargeted[2] = Buffer.from('payments').toString('base64url');
    // A later expiry written over the genuine one: the seal authenticates every part before it.
    const extended = genuine.split('.');
    extended[4] = String(Number(extended[4]) + 3600);
    // A chain with one more service written in: the seal covers the chain too.
    const lengthened = genuine.split('.');
    lengthened[5] = Buffer.from('inventory gateway').toString('base64url');
    for (const reference of [
      flipped,
      otherKey.mint(sessionHash, [], 'orders', 'GET /me'),
      retargeted.join('.'),
      extended.join('.'),
      lengthened.join('.'),
      'v3......',
      'v2....',
      'v1.....',
      'garbage',
      'x'.repeat(5000),
    ]) {
      const answer = await call(`${orders}/me`, withRef(reference));
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: { code: 'ERR_SESSION_REFERENCE_INVALID' } });
      expect(answer.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(answer.headers.get('www-authenticate')).toMatch(/^TesseraSession error="invalid_token"/);
    }
  });

  it('gives the same reference again while half its lifetime is left, then a new one', () => {
    let clock = Date.now();
    const references = createSessionReferences({
      self: 'gateway',
      mint: { orders: keyOf('gateway', 'orders'), payments: keyOf('gateway', 'payments') },
      now: () => clock,
    });
    const opener = createSessionReferences({
      self: 'orders',
      accept: { gateway: [keyOf('gateway', 'orders')] },
      now: () => clock,
    });
    const first = references.mint(sessionHash, [], 'orders', 'GET /me');
    expect(references.mint(sessionHash, [], 'orders', 'GET /me')).toBe(first);
    expect(references.mint(sessionHash, [], 'orders', 'GET /other')).not.toBe(first);
    expect(references.mint(sessionHash, [], 'payments', 'GET /me')).not.toBe(first);
    expect(references.mint(sessionHash, ['edge'], 'orders', 'GET /me')).not.toBe(first);
    clock += 16_000;
    const second = references.mint(sessionHash, [], 'orders', 'GET /me');
    expect(second).not.toBe(first);
    expect(opener.open(second, 'GET /me').expiresAt).toBe(Math.floor(clock / 1000) + 30);
  });

  it('G 92: an expired reference is refused', async () => {
    const past = createSessionReferences({
      self: 'gateway',
      mint: parts.gateway?.mint ?? {},
      now: () => Date.now() - 31_000,
    });
    const answer = await call(`${orders}/me`, withRef(past.mint(sessionHash, [], 'orders', 'GET /me')));
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('ERR_SESSION_REFERENCE_EXPIRED');
  });

  it('G 92: a reference replayed at another route or another service is refused', async () => {
    const forMe = gateway.mint(sessionHash, [], 'orders', 'GET /me');
    expect((await call(`${orders}/pay`, withRef(forMe))).body.error?.code).toBe(
      'ERR_SESSION_REFERENCE_INVALID',
    );
    expect(
      (
        await call(`${orders}/me`, {
          method: 'GET',
          ...withRef(gateway.mint(sessionHash, [], 'orders', 'POST /me')),
        })
      ).status,
    ).toBe(401);
    const replayed = await call(`${payments}/balance`, withRef(forMe));
    expect(replayed.status).toBe(401);
    expect(replayed.body.error?.code).toBe('ERR_SESSION_REFERENCE_INVALID');
  });

  it('an ended session is refused; no reference is a bare challenge; two references are 400', async () => {
    const { session } = await manager.create('bob', {});
    const reference = gateway.mint(session.idHash, [], 'orders', 'GET /me');
    await manager.destroy(session);
    const ended = await call(`${orders}/me`, withRef(reference));
    expect(ended.status).toBe(401);
    expect(ended.body.error?.code).toBe('ERR_SESSION_NOT_FOUND');
    const none = await call(`${orders}/me`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('TesseraSession');
    const ref = gateway.mint(sessionHash, [], 'orders', 'GET /me');
    const twice = await rawGet(`${orders}/me`, { [SESSION_REFERENCE_HEADER]: [ref, ref] });
    expect(twice.status).toBe(400);
  });

  it('the service client passes the session on as a new reference, the chain extended with itself', async () => {
    const answer = await call(`${orders}/pay`, withRef(gateway.mint(sessionHash, [], 'orders', 'GET /pay')));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      status: 200,
      body: { sub: 'alice', aud: ['payments'], client: 'orders', actors: [{ subject: 'orders' }] },
    });
  });

  it('refuses a short key, a bad key id or name, and an audience it holds no key for', () => {
    const short = { id: 'k1', secret: 'short' };
    expect(() => createSessionReferences({ self: 'gateway', mint: { orders: short } })).toThrow(/32 bytes/);
    expect(() => createSessionReferences({ self: 'orders', accept: { gateway: [short] } })).toThrow(
      /32 bytes/,
    );
    const key = keyOf('gateway', 'orders');
    expect(() =>
      createSessionReferences({ self: 'gateway', mint: { orders: { ...key, id: 'a.b' } } }),
    ).toThrow(/key id/);
    expect(() => createSessionReferences({ self: 'two words' })).toThrow(/self/);
    expect(() => createSessionReferences({ self: 'orders', accept: { gateway: [key, key] } })).toThrow(
      /twice/,
    );
    expect(() => gateway.mint(sessionHash, [], 'payments', 'GET /x')).toThrow(
      /no session reference key for payments/,
    );
  });

  it('a session source without references, or accepting no caller, is refused with a code, not a crash', () => {
    for (const references of [undefined, null, 'a-secret-of-at-least-thirty-two-bytes-000']) {
      expect(() =>
        sessionSource({ manager, references } as unknown as Parameters<typeof sessionSource>[0]),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_OPTION',
          message: expect.stringMatching(/^references must be/),
        }),
      );
    }
    expect(() => sessionSource({ manager, references: { self: 'orders' } })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_OPTION',
        message: expect.stringContaining('at least one caller'),
      }),
    );
  });

  it('reads keys from text for an environment variable, never echoing a secret', () => {
    const secret = 'a-secret-of-at-least-thirty-two-bytes-000';
    expect(parseReferenceKeys(`gateway=k2:${secret}, gateway=k1:${secret}\norders=k1:${secret}`)).toEqual({
      gateway: [
        { id: 'k2', secret },
        { id: 'k1', secret },
      ],
      orders: [{ id: 'k1', secret }],
    });
    expect(parseMintingKeys(`orders=k1:${secret}`)).toEqual({ orders: { id: 'k1', secret } });
    for (const bad of [
      `orders=k1:${secret},orders=k2:${secret}`,
      'orders=k1:short-secret',
      `orders:${secret}`,
    ]) {
      expect(() => parseMintingKeys(bad)).toThrow();
      try {
        parseMintingKeys(bad);
      } catch (error) {
        expect(String((error as Error).message)).not.toContain('short-secret');
        expect(String((error as Error).message)).not.toContain(secret);
      }
    }
  });
});
