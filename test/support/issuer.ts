import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeySet } from '@tessera/core';

export type Behaviour = 'ok' | 'garbage' | 'slow' | 'down' | 'redirect' | 'huge' | 'not-jwks';

/**
 * A tiny token-service stand-in on node:http: discovery and a JWKS served from a local KeySet,
 * with a switch to make the JWKS answer garbage, slowly, oversized, by redirect, or not at all.
 */
export interface FakeIssuer {
  readonly url: string;
  readonly keys: KeySet;
  behaviour: Behaviour;
  /** Overrides of the discovery document (issuer, jwks_uri). */
  discovery: Record<string, unknown>;
  jwksHits: number;
  close(): Promise<void>;
}

export async function startIssuer(
  algorithms: readonly ('EdDSA' | 'ES256' | 'RS256')[] = ['EdDSA', 'ES256'],
): Promise<FakeIssuer> {
  const keys = await KeySet.generate(algorithms);
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: FakeIssuer = {
    url,
    keys,
    behaviour: 'ok',
    discovery: {},
    jwksHits: 0,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const pending = new Set<ServerResponse>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/.well-known/openid-configuration') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks`, ...state.discovery }));
      return;
    }
    if (request.url !== '/jwks' && request.url !== '/elsewhere') {
      response.statusCode = 404;
      response.end();
      return;
    }
    state.jwksHits++;
    switch (state.behaviour) {
      case 'ok':
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(keys.jwks()));
        return;
      case 'garbage':
        response.end('<html>502 bad gateway</html>');
        return;
      case 'not-jwks':
        response.setHeader('content-type', 'application/json');
        response.end('{"keys":"none"}');
        return;
      case 'huge':
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ keys: [], pad: 'x'.repeat(200_000) }));
        return;
      case 'redirect':
        response.statusCode = 302;
        response.setHeader('location', `${url}/elsewhere`);
        response.end();
        return;
      case 'slow':
        // Never answers: the client's deadline must end the wait.
        pending.add(response);
        return;
      case 'down':
        request.socket.destroy();
        return;
    }
  });
  return state;
}
