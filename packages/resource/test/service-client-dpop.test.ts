import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DpopProofSigner } from '@tessera/core';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { ORDERS_SECRET, orders } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { createServiceClient, createTokenExchanger } from '../src/client/service-client.js';

// The service client with a DPoP key of its own, against the real token service with server
// nonces on: its tokens come back bound to its key after the use_dpop_nonce retry, every call
// carries a fresh proof for its URL, and a token endpoint answering a bearer token to a proof is
// refused rather than trusted.

let database: TestDatabase;
let issuer: Harness;
let echo: Server;
let echoUrl: string;
let bearerEndpoint: Server;
let bearerUrl: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  database = await sqlite.create();
  issuer = await startService(database, { clients: [orders], dpopNonce: true });
  echo = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ authorization: request.headers.authorization, dpop: request.headers.dpop }),
    );
  });
  echoUrl = await listen(echo);
  // A token endpoint that ignores proofs: it answers a bearer token whatever it is sent.
  bearerEndpoint = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ access_token: 'a.b.c', token_type: 'Bearer', expires_in: 300 }));
  });
  bearerUrl = await listen(bearerEndpoint);
});

afterAll(async () => {
  echo?.close();
  bearerEndpoint?.close();
  await issuer?.stop();
  await database?.cleanup();
});

describe('the service client with dpop', () => {
  it('gets a token bound to its key (after the use_dpop_nonce retry) and sends each call with a fresh proof', async () => {
    const key = await DpopProofSigner.generate();
    const call = createServiceClient({
      tokenEndpoint: `${issuer.url}/token`,
      clientId: 'orders',
      clientSecret: ORDERS_SECRET,
      dpop: key,
    });
    const first = (
      await call(`${echoUrl}/reserve?x=1`, { method: 'POST', audience: 'inventory' })
    ).json() as {
      authorization: string;
      dpop: string;
    };
    expect(first.authorization).toMatch(/^DPoP /);
    const token = first.authorization.slice('DPoP '.length);
    expect(decodeJwt(token).cnf).toEqual({ jkt: key.jkt });
    expect(decodeJwt(first.dpop)).toMatchObject({ htm: 'POST', htu: `${echoUrl}/reserve` });
    const second = (await call(`${echoUrl}/reserve`, { method: 'POST', audience: 'inventory' })).json() as {
      authorization: string;
      dpop: string;
    };
    // The cached token, a new proof.
    expect(second.authorization).toBe(first.authorization);
    expect(second.dpop).not.toBe(first.dpop);
  });

  it('refuses a bearer answer to a request that carried a proof (ERR_UPSTREAM_TOKEN_FAILED)', async () => {
    const exchanger = createTokenExchanger({
      tokenEndpoint: `${bearerUrl}/token`,
      clientId: 'orders',
      clientSecret: ORDERS_SECRET,
      dpop: await DpopProofSigner.generate(),
    });
    await expect(exchanger.own('inventory', '')).rejects.toMatchObject({ code: 'ERR_UPSTREAM_TOKEN_FAILED' });
  });

  it('without dpop, the same endpoint answer is a bearer token as before', async () => {
    const exchanger = createTokenExchanger({
      tokenEndpoint: `${bearerUrl}/token`,
      clientId: 'orders',
      clientSecret: ORDERS_SECRET,
    });
    expect(await exchanger.own('inventory', '')).toBe('a.b.c');
  });
});
