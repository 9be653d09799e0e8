import { type AccessTokenClaims, AccessTokenSigner, KeySet, type Principal } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenAuth } from '../src/auth.js';
import { createInventoryService } from '../src/inventory.js';
import { createPaymentsService } from '../src/payments.js';
import { seenBy } from '../src/trace.js';

// The services in token mode, in-process (inject), with keys in memory instead of a token service:
// what each route demands of a token. The whole system over HTTP is packages/cli/test/dev-system.
const issuer = 'http://127.0.0.1:9';
let signer: AccessTokenSigner;
let payments: FastifyInstance;
let inventory: FastifyInstance;

beforeAll(async () => {
  const keys = await KeySet.generate();
  signer = new AccessTokenSigner({ keys, issuer });
  const auth = tokenAuth({ issuer, keys });
  payments = await createPaymentsService({ auth });
  inventory = await createInventoryService({ auth, items: [{ id: 'a', name: 'A', price: 5, stock: 2 }] });
});

afterAll(async () => {
  await payments.close();
  await inventory.close();
});

const userToken = (claims: Partial<AccessTokenClaims>): string =>
  signer.issue({ subject: 'alice-id', clientId: 'orders', audience: 'payments', authTime: 1, ...claims })
    .token;

const charge = (token: string, body: unknown = { amount: 100, reference: 'o-1' }) =>
  payments.inject({
    method: 'POST',
    url: '/charge',
    headers: { authorization: `Bearer ${token}` },
    payload: body as object,
  });

describe('payments: POST /charge', () => {
  it('charges for a user when the call came through orders, and reports what it verified', async () => {
    const response = await charge(
      userToken({ scopes: ['payments:charge'], actors: [{ subject: 'orders' }] }),
    );
    expect(response.statusCode).toBe(201);
    expect(response.json().seen).toEqual({
      service: 'payments',
      sub: 'alice-id',
      client_id: 'orders',
      aud: 'payments',
      scope: 'payments:charge',
      act: { sub: 'orders' },
    });
  });

  it('refuses (403) a token without a delegation chain, through another service, or without the scope', async () => {
    expect((await charge(userToken({ scopes: ['payments:charge'] }))).statusCode).toBe(403);
    expect(
      (await charge(userToken({ scopes: ['payments:charge'], actors: [{ subject: 'inventory' }] })))
        .statusCode,
    ).toBe(403);
    expect(
      (await charge(userToken({ scopes: ['orders:write'], actors: [{ subject: 'orders' }] }))).statusCode,
    ).toBe(403);
  });

  it('refuses (401) a token for another audience and a request without one', async () => {
    const other = userToken({
      audience: 'orders',
      scopes: ['payments:charge'],
      actors: [{ subject: 'orders' }],
    });
    expect((await charge(other)).statusCode).toBe(401);
    expect((await payments.inject({ method: 'POST', url: '/charge', payload: {} })).statusCode).toBe(401);
  });

  it('answers 400 to a charge without an amount', async () => {
    const token = userToken({ scopes: ['payments:charge'], actors: [{ subject: 'orders' }] });
    expect((await charge(token, { reference: 'x' })).statusCode).toBe(400);
  });
});

describe('inventory', () => {
  const token = (scopes: string[]) => userToken({ audience: 'inventory', scopes });
  const reserve = (body: object, scopes = ['inventory:reserve']) =>
    inventory.inject({
      method: 'POST',
      url: '/reserve',
      headers: { authorization: `Bearer ${token(scopes)}` },
      payload: body,
    });

  it('lists items to inventory:read and refuses a token without it', async () => {
    const listed = await inventory.inject({
      url: '/items',
      headers: { authorization: `Bearer ${token(['inventory:read'])}` },
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([{ id: 'a', name: 'A', price: 5, stock: 2 }]);
    const refused = await inventory.inject({
      url: '/items',
      headers: { authorization: `Bearer ${token(['orders:read'])}` },
    });
    expect(refused.statusCode).toBe(403);
  });

  it('reserves from the stock: 404 unknown item, 400 bad quantity, 409 not enough stock', async () => {
    expect((await reserve({ item: 'nope', quantity: 1 })).statusCode).toBe(404);
    expect((await reserve({ item: 'a', quantity: 0 })).statusCode).toBe(400);
    expect((await reserve({ item: 'a', quantity: 1.5 })).statusCode).toBe(400);
    expect((await reserve({ item: 'a', quantity: 1 }, ['inventory:read'])).statusCode).toBe(403);
    const first = await reserve({ item: 'a', quantity: 2 });
    expect(first.statusCode).toBe(200);
    expect(first.json().reservation).toEqual({ item: 'a', quantity: 2, price: 5 });
    expect((await reserve({ item: 'a', quantity: 1 })).statusCode).toBe(409);
  });
});

describe('seenBy', () => {
  const principal: Principal = {
    subject: 'alice-id',
    clientId: 'payments',
    scopes: ['ledger:write'],
    audience: ['ledger', 'audit'],
    issuer,
    tokenId: 'j',
    expiresAt: 2,
    issuedAt: 1,
    actors: [{ subject: 'payments' }, { subject: 'orders' }],
    claims: {},
  };

  it('nests the chain as act claims, current actor outermost', () => {
    expect(seenBy('ledger', principal, 'token')).toEqual({
      service: 'ledger',
      sub: 'alice-id',
      client_id: 'payments',
      aud: ['ledger', 'audit'],
      scope: 'ledger:write',
      act: { sub: 'payments', act: { sub: 'orders' } },
    });
  });

  it('leaves out in session mode what a session does not have (scopes), and keeps the chain', () => {
    expect(seenBy('ledger', principal, 'session')).toEqual({
      service: 'ledger',
      sub: 'alice-id',
      client_id: 'payments',
      aud: ['ledger', 'audit'],
      act: { sub: 'payments', act: { sub: 'orders' } },
    });
  });
});

describe('tokenAuth: the verified-token cache', () => {
  // A key removed after a token was verified once: a cached verification still stands, and with
  // the cache off every request checks the signature again and finds no key to check it with.
  async function secondCallAfterKeyRemoved(cache: boolean | undefined): Promise<[number, number]> {
    const keys = await KeySet.generate();
    const own = new AccessTokenSigner({ keys, issuer });
    const auth = tokenAuth({ issuer, keys, ...(cache === undefined ? {} : { cache }) });
    const app = await createInventoryService({ auth });
    try {
      const token = own.issue({
        subject: 'alice-id',
        clientId: 'shop-cli',
        audience: 'inventory',
        authTime: 1,
        scopes: ['inventory:read'],
      }).token;
      const list = () =>
        app.inject({ method: 'GET', url: '/items', headers: { authorization: `Bearer ${token}` } });
      const first = (await list()).statusCode;
      for (const { key } of keys.entries()) keys.remove(key.kid);
      return [first, (await list()).statusCode];
    } finally {
      await app.close();
    }
  }

  it('is on by default: a token verified once is taken from the cache', async () => {
    expect(await secondCallAfterKeyRemoved(undefined)).toEqual([200, 200]);
  });

  it('is off with cache: false: every request verifies the signature again', async () => {
    expect(await secondCallAfterKeyRemoved(false)).toEqual([200, 401]);
  });
});
