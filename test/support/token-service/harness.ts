import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Channel, InProcessChannel, type KeyValueStore, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import {
  type ClientRegistration,
  openTokenService,
  type TokenService,
  type TokenServiceOptions,
} from '@tessera/token-service';
import type { Kysely, KyselyPlugin } from 'kysely';
// The service's internals, from the built package itself (the same module the service was built
// with, so its context is found): the package exports no way to them, by design.
import { contextOf, type ServiceContext } from '../../../packages/token-service/dist/context.js';
import type { DatabaseFixture, TestDatabase } from '../databases.js';

export const TEST_SECRET = 'test-secret-0123456789abcdef-0123456789abcdef';

export interface Harness {
  /** The base URL, `http://127.0.0.1:<port>`; also the issuer unless options.issuer names another. */
  readonly url: string;
  readonly service: TokenService;
  /** The service's internals (repositories, the access-token issuer, the channel), for assertions. */
  readonly context: ServiceContext;
  readonly db: Kysely<unknown>;
  readonly store: KeyValueStore;
  /** Stops the service and closes the database; the data stays for a restart. */
  stop(): Promise<void>;
}

export type HarnessOptions = Partial<
  Omit<TokenServiceOptions, 'issuer' | 'database' | 'store' | 'channel'>
> & {
  readonly clients?: readonly ClientRegistration[];
  /** The issuer another instance already has (instances behind one load balancer share it). */
  readonly issuer?: string;
  /** A store and channel the caller owns and closes (shared with other instances or subscribers); else in-memory ones. */
  readonly store?: KeyValueStore;
  readonly channel?: Channel;
  /** Kysely plugins on the service's database (a statement counter); the harness's own `db` has none. */
  readonly plugins?: readonly KyselyPlugin[];
};

/**
 * Starts the token service on 127.0.0.1, port 0, over a given test database: the HTTP server
 * listens first so the issuer can name the real port, then hands every request to Fastify.
 */
export async function startService(database: TestDatabase, options: HarnessOptions = {}): Promise<Harness> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const db = await createDatabase(database.config);
  const {
    clients = [],
    issuer = url,
    store: givenStore,
    channel: givenChannel,
    plugins = [],
    ...rest
  } = options;
  const store = givenStore ?? new MemoryStore({ prefix: 'ts-test:' });
  const channel = givenChannel ?? new InProcessChannel();
  const closeOwn = async () => {
    if (givenStore === undefined) await store.close();
    if (givenChannel === undefined) await channel.close();
  };
  let service: TokenService;
  try {
    service = await openTokenService({
      secret: TEST_SECRET,
      ...rest,
      issuer,
      database: plugins.reduce((withPlugins, plugin) => withPlugins.withPlugin(plugin), db),
      store,
      channel,
    });
  } catch (error) {
    server.close();
    await closeOwn();
    await db.destroy();
    throw error;
  }
  for (const client of clients) await service.clients.upsert(client);
  await service.app.ready();
  server.on('request', (request, response) => service.app.routing(request, response));
  return {
    url,
    service,
    context: contextOf(service),
    db,
    store,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      await service.close();
      await closeOwn();
      await db.destroy();
    },
  };
}

/** A database for one suite, created before and dropped after. */
export async function withDatabase(fixture: DatabaseFixture): Promise<TestDatabase> {
  return fixture.create();
}
