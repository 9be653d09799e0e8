import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Channel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { type ClientRegistration, openTokenService, type TokenService } from '@tessera/token-service';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The clients of the shop's back end: each service exchanges for the next hop's audience. */
export const clients: Record<'orders' | 'payments', ClientRegistration & { client_secret: string }> = {
  orders: {
    client_id: 'orders',
    client_secret: 'orders-secret-0123456789abcdef-0123456789',
    grant_types: ['client_credentials', TOKEN_EXCHANGE],
    scopes: ['payments:charge', 'inventory:read'],
    audiences: ['payments', 'inventory'],
  },
  payments: {
    client_id: 'payments',
    client_secret: 'payments-secret-0123456789abcdef-012345',
    grant_types: ['client_credentials', TOKEN_EXCHANGE],
    scopes: ['ledger:write'],
    audiences: ['ledger'],
  },
};

export interface RealTokenService {
  readonly url: string;
  readonly service: TokenService;
  /** A user token as the code flow issues it to the web client after alice signs in. */
  userToken(audience: readonly string[], scopes: readonly string[]): { token: string; jti: string };
  stop(): Promise<void>;
}

/** The real token service on a temp SQLite file, listening on 127.0.0.1:0, publishing on `channel`. */
export async function startTokenService(channel: Channel): Promise<RealTokenService> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-resource-'));
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const database = await createDatabase({ dialect: 'sqlite', filename: join(dir, 'ts.sqlite') });
  const store = new MemoryStore();
  const service = await openTokenService({
    issuer: url,
    secret: 'resource-test-secret-0123456789abcdef-0123456789',
    database,
    store,
    channel,
  });
  for (const client of Object.values(clients)) await service.clients.upsert(client);
  await service.app.ready();
  server.on('request', (request, response) => service.app.routing(request, response));
  return {
    url,
    service,
    userToken(audience, scopes) {
      const ctx = service.context;
      return ctx.accessTokens.issue({
        subject: 'alice',
        clientId: 'shop-web',
        audience: [...audience],
        scopes: [...scopes],
        sessionId: 'sid-alice',
        authTime: Math.floor(ctx.now() / 1000) - 5,
      });
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      await service.close();
      await store.close();
      await database.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
