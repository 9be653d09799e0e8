import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceClient } from '../src/client/service-client.js';

// A token endpoint and a called service in one server on 127.0.0.1: the client's calls are
// core's outbound client, bounded in time and size, and never follow a redirect.
let server: Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    hits.push(request.url ?? '');
    request.resume();
    request.on('end', () => {
      switch (request.url) {
        case '/token':
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ access_token: 'own-token', token_type: 'Bearer', expires_in: 300 }));
          return;
        case '/ok':
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ authorization: request.headers.authorization ?? null }));
          return;
        case '/big':
          response.writeHead(200).end('x'.repeat(2048));
          return;
        case '/redirect':
          response.writeHead(307, { location: `${base}/ok` }).end();
          return;
        default:
        // /hang: never answers.
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

function client() {
  return createServiceClient({
    tokenEndpoint: `${base}/token`,
    clientId: 'orders',
    clientSecret: 'orders-secret',
    callTimeout: 300,
    maxBodyBytes: 1024,
  });
}

describe('createServiceClient bounds', () => {
  it('sends its own token and reads the answer whole', async () => {
    const answer = await client()(`${base}/ok`, { audience: 'inventory' });
    expect([answer.status, answer.ok]).toEqual([200, true]);
    expect(answer.json()).toEqual({ authorization: 'Bearer own-token' });
  });

  it('gives up on a service that does not answer within callTimeout', async () => {
    await expect(client()(`${base}/hang`, { audience: 'inventory' })).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_TIMEOUT',
    });
  });

  it('refuses an answer over maxBodyBytes', async () => {
    await expect(client()(`${base}/big`, { audience: 'inventory' })).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_TOO_LARGE',
    });
  });

  it('never follows a redirect: refused by default, answered as a status when asked', async () => {
    const before = hits.filter((url) => url === '/ok').length;
    await expect(client()(`${base}/redirect`, { audience: 'inventory' })).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_REDIRECT',
    });
    const answered = await client()(`${base}/redirect`, { audience: 'inventory', redirect: 'return' });
    expect(answered.status).toBe(307);
    expect(hits.filter((url) => url === '/ok').length).toBe(before);
  });

  it('refuses bounds that are not positive, at construction', () => {
    const options = { tokenEndpoint: `${base}/token`, clientId: 'orders', clientSecret: 's' };
    expect(() => createServiceClient({ ...options, callTimeout: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
    expect(() => createServiceClient({ ...options, maxBodyBytes: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});
