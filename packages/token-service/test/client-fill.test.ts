import { createDatabase } from '@tessera/storage/sql';
import type {
  Kysely,
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { type Harness, startService, TEST_SECRET } from '../../../test/support/token-service/harness.js';
import { StatementLog } from '../../../test/support/token-service/statements.js';
import { openClientRepository } from '../src/admin.js';
import { deriveServiceKeys } from '../src/lib/secrets.js';
import { migrateTokenService } from '../src/migrations/index.js';
import type { ClientRegistration } from '../src/store/client-registration.js';
import { ClientRepository } from '../src/store/clients.js';
import type { TokenServiceDatabase } from '../src/store/schema.js';

const PAGE = 10;
const CACHE_TTL_MS = 10_000;
const SECRET = 'fill-secret-0123456789abcdef-0123456789';
/** 25 clients: the fill reads them in three pages, fill-00..09, fill-10..19, fill-20..24. */
const IDS = Array.from({ length: 25 }, (_, i) => `fill-${String(i).padStart(2, '0')}`);

function registration(clientId: string, name = 'v1'): ClientRegistration {
  return { client_id: clientId, client_secret: SECRET, client_name: name };
}

/** Lets the fill's page continuations and its setImmediate between pages run. */
function turns(count = 5): Promise<void> {
  return (async () => {
    for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  })();
}

/** Whether a query builder is one page of the background fill: a select of oauth_clients with a limit. */
function isFillPage(builder: object): boolean {
  const toNode = (builder as { toOperationNode?: () => OperationNode }).toOperationNode;
  if (typeof toNode !== 'function') return false;
  const node = toNode.call(builder) as OperationNode & { limit?: unknown; from?: unknown };
  return (
    node.kind === 'SelectQueryNode' &&
    node.limit !== undefined &&
    JSON.stringify(node.from).includes('"oauth_clients"')
  );
}

/**
 * The fill's pages as the repository sees them. `wrap(db)` hands out the database with every
 * query builder proxied: a page's rows, once read, can be held back from the fill until the test
 * releases them, so the page was read before whatever the test does meanwhile and arrives after
 * it. The hold is outside the driver's connection (the query has finished and given it back), so
 * other queries run meanwhile on SQLite's one connection too.
 */
class FillPages {
  /** The rows of each page that came back, in order. */
  readonly sizes: number[] = [];
  failed = 0;
  #hold: { arrived: () => void; released: Promise<void> } | undefined;
  #waiters: { readonly done: (sizes: readonly number[], failed: number) => boolean; resolve(): void }[] = [];

  /** Holds the rows of the next page read until `release()`; `arrived` once they are read. */
  holdNext(): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const arrivedPromise = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#hold = { arrived, released };
    return { arrived: arrivedPromise, release };
  }

  /** Resolves once the fill read a page shorter than a full one (its last), and handled it. */
  ended(): Promise<void> {
    return this.#until((sizes) => sizes.some((size) => size < PAGE));
  }

  /** Resolves once a page read failed, and the fill handled the failure. */
  failure(): Promise<void> {
    return this.#until((_sizes, failed) => failed > 0);
  }

  async #until(done: (sizes: readonly number[], failed: number) => boolean): Promise<void> {
    if (!done(this.sizes, this.failed)) {
      await new Promise<void>((resolve) => {
        this.#waiters.push({ done, resolve });
      });
    }
    // The fill stores a page (or drops a failed one) in the continuation after its query.
    await turns();
  }

  #settled(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.done(this.sizes, this.failed)) return true;
      waiter.resolve();
      return false;
    });
  }

  async #page(rows: Promise<unknown[]>): Promise<unknown[]> {
    let read: unknown[];
    try {
      read = await rows;
    } catch (error) {
      this.failed++;
      this.#settled();
      throw error;
    }
    const hold = this.#hold;
    this.#hold = undefined;
    if (hold !== undefined) {
      hold.arrived();
      await hold.released;
    }
    this.sizes.push(read.length);
    this.#settled();
    return read;
  }

  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, key) => {
        const value: unknown = Reflect.get(object, key, object);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          // Kysely's builders keep their state in private fields: called on the real object.
          const result: unknown = value.apply(object, args);
          if (key === 'execute' && isFillPage(object)) return this.#page(result as Promise<unknown[]>);
          const chained =
            typeof result === 'object' &&
            result !== null &&
            typeof (result as { toOperationNode?: unknown }).toOperationNode === 'function';
          return chained ? this.wrap(result) : result;
        };
      },
    });
  }
}

// The client cache fills itself in the background, a page at a time, at the first lookup
// (README, "Scale"). What a lookup answers during and after a fill is checked here against a
// repository ("this instance") over its own connection, with another connection standing for
// another process; the fill's pages are held back to order a change between a page's read and
// its arrival.
describe.each(databases)("the client cache's background fill on $name", (fixture) => {
  let database: TestDatabase;
  let admin: Kysely<unknown>;
  let own: Kysely<unknown>;
  /** Another process: writes through its own repository (raising the generation), uncached. */
  let other: ClientRepository;
  let pages: FillPages;
  let log: StatementLog;
  let repository: ClientRepository;
  let offset = 0;

  beforeAll(async () => {
    database = await fixture.create();
    admin = await createDatabase(database.config);
    await migrateTokenService(admin);
    own = await createDatabase(database.config);
    other = openClientRepository({ database: admin, secret: TEST_SECRET });
  });
  beforeEach(async () => {
    await admin.deleteFrom('oauth_clients' as never).execute();
    for (const id of IDS) await other.register(registration(id));
    offset = 0;
    pages = new FillPages();
    log = new StatementLog();
    repository = new ClientRepository({
      db: pages.wrap(own.withPlugin(log) as Kysely<TokenServiceDatabase>),
      secretKey: deriveServiceKeys(new TextEncoder().encode(TEST_SECRET)).clientSecret,
      cacheTtlMs: CACHE_TTL_MS,
      now: () => Date.now() + offset,
      fillPageSize: PAGE,
    });
  });
  afterEach(async () => {
    // No fill of one test may run into the next one's rows.
    await pages.ended().catch(() => {});
  });
  afterAll(async () => {
    await own?.destroy();
    await admin?.destroy();
    await database?.cleanup();
  });

  /** Each id's client name as this instance's repository answers it (undefined: no client). */
  async function names(ids: readonly string[]): Promise<Record<string, string | undefined>> {
    const found: Record<string, string | undefined> = {};
    for (const id of ids) {
      const client = await repository.find(id);
      if (client !== undefined) expect(client.client_id).toBe(id);
      found[id] = client?.client_name;
    }
    return found;
  }

  function each(ids: readonly string[], name: string | undefined): Record<string, string | undefined> {
    return Object.fromEntries(ids.map((id) => [id, name]));
  }

  /** The client reads (`select oauth_clients`) that `work` made. */
  function clientReads(work: () => Promise<unknown>): Promise<string[]> {
    return log.during(work, ['oauth_clients']);
  }

  it('the first lookup fills the cache with every client, a page at a time; then every lookup is answered without a read', async () => {
    expect((await repository.find('fill-17'))?.client_name).toBe('v1');
    await pages.ended();
    expect(pages.sizes).toEqual([10, 10, 5]);
    let found: Record<string, string | undefined> = {};
    expect(
      await clientReads(async () => {
        found = await names(IDS);
      }),
    ).toEqual([]);
    expect(found).toEqual(each(IDS, 'v1'));
  });

  it('a lookup while a page is in flight gets the stored client, a cached one or its row read', async () => {
    const held = pages.holdNext();
    const first = repository.find('fill-03');
    await held.arrived;
    // fill-03's own read came first; fill-15's page is not read yet; nobody is no client.
    expect((await first)?.client_name).toBe('v1');
    expect(await names(['fill-03', 'fill-15', 'fill-24', 'nobody'])).toEqual({
      'fill-03': 'v1',
      'fill-15': 'v1',
      'fill-24': 'v1',
      nobody: undefined,
    });
    held.release();
    await pages.ended();
    expect(await names(IDS)).toEqual(each(IDS, 'v1'));
  });

  /** What `writeWhileFirstPageHeld` leaves: each id's client name as the database has it. */
  const written = {
    ...each(IDS, 'v1'),
    'fill-03': 'v2',
    'fill-05': undefined,
    'fill-12': 'v2',
    'fill-04a': 'v1',
    'fill-30': 'v1',
  };

  /**
   * Starts the fill and, while its first page (fill-00..09 as they were) is held, has `writer`
   * change fill-03 (in that page) and fill-12 (in the next), remove fill-05 and add fill-04a
   * (inside the first page's range) and fill-30 (in the last page's); then lets the fill end.
   */
  async function writeWhileFirstPageHeld(writer: ClientRepository): Promise<void> {
    const held = pages.holdNext();
    await repository.find('fill-20');
    await held.arrived;
    await writer.upsert(registration('fill-03', 'v2'));
    expect(await writer.remove('fill-05')).toBe(true);
    await writer.register(registration('fill-04a'));
    await writer.upsert(registration('fill-12', 'v2'));
    await writer.register(registration('fill-30'));
    held.release();
    await pages.ended();
  }

  it('a client changed, removed or added here while its page is in flight is served as it is now, at once', async () => {
    await writeWhileFirstPageHeld(repository);
    // No clock moved: what this instance wrote is seen without reading the generation.
    expect(await names(Object.keys(written))).toEqual(written);
  });

  it('a client changed, removed or added by another process while its page is in flight is served as it is now once the generation is read', async () => {
    await writeWhileFirstPageHeld(other);
    // Another process's write is seen within one TTL, as without a fill, the held page's rows included.
    offset = CACHE_TTL_MS + 1;
    expect(await names(Object.keys(written))).toEqual(written);
  });

  it('a page read before a change the generation then showed is read again, so the change is served at once', async () => {
    const held = pages.holdNext();
    await repository.find('fill-20');
    await held.arrived;
    await other.upsert(registration('fill-03', 'v2'));
    expect(await other.remove('fill-05')).toBe(true);
    // The generation is read (and the changes with it) while the page read before them is held.
    offset = CACHE_TTL_MS + 1;
    expect((await repository.find('fill-07'))?.client_name).toBe('v1');
    held.release();
    await pages.ended();
    // The generation is not read again (no TTL passed since): only the page read again shows these.
    expect(await names(['fill-03', 'fill-05', 'fill-04'])).toEqual({
      'fill-03': 'v2',
      'fill-05': undefined,
      'fill-04': 'v1',
    });
    // The held page (fill-00..09, fill-05 in it) was dropped and read again without fill-05.
    expect(pages.sizes).toEqual([10, 10, 10, 4]);
  });

  it('a page that fails ends the fill: cached clients are still served, the others read one by one, and nothing is left running', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const renamed = 'oauth_clients_away';
    try {
      const held = pages.holdNext();
      await repository.find('fill-20');
      await held.arrived;
      // The database refuses every read of the clients from here on.
      await admin.schema.alterTable('oauth_clients').renameTo(renamed).execute();
      held.release();
      await pages.failure();
      expect(pages.sizes).toEqual([10]);
      expect(pages.failed).toBe(1);
      // From the cache (the first page, and fill-20 read by its lookup): answered while SQL fails.
      expect(await names(['fill-00', 'fill-09', 'fill-20'])).toEqual(
        each(['fill-00', 'fill-09', 'fill-20'], 'v1'),
      );
      // Not cached: the lookup fails with the database's error, it never answers "no client".
      await expect(repository.find('fill-15')).rejects.toThrow();
      // The fill does not go on, nor try again by itself.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await turns();
      expect(pages.sizes).toEqual([10]);
      expect(pages.failed).toBe(1);
      await admin.schema.alterTable(renamed).renameTo('oauth_clients').execute();
      expect(await names(['fill-15', 'fill-24', 'fill-05'])).toEqual(
        each(['fill-15', 'fill-24', 'fill-05'], 'v1'),
      );
      expect(pages.sizes).toEqual([10]);
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await admin.schema
        .alterTable(renamed)
        .renameTo('oauth_clients')
        .execute()
        .catch(() => {});
    }
    // The afterEach waits for a fill that ended; this one ended by failing.
    pages.sizes.push(0);
  });
});

/** Counts the fill's page reads as they start, and runs `onPage` at the start of each, synchronously. */
class PageStarts implements KyselyPlugin {
  started = 0;
  /** Pages whose rows the fill has been handed. */
  finished = 0;
  onPage: (() => void) | undefined;
  /** While set, a page's rows wait for it before the fill gets them. */
  hold: Promise<void> | undefined;
  readonly #pages = new WeakSet<object>();

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    if (isFillPage({ toOperationNode: () => node })) {
      this.#pages.add(queryId);
      this.started++;
      this.onPage?.();
    }
    return node;
  }

  async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.#pages.has(queryId)) {
      await this.hold;
      this.finished++;
    }
    return result;
  }
}

/** Rows copied from a registered client's, `count` of them with their own ids (as bench/scale does). */
async function bulkInsert(db: Kysely<unknown>, templateId: string, count: number): Promise<void> {
  const clients = db as unknown as Kysely<TokenServiceDatabase>;
  const template = await clients
    .selectFrom('oauth_clients')
    .selectAll()
    .where('client_id', '=', templateId)
    .executeTakeFirstOrThrow();
  for (let start = 0; start < count; start += 100) {
    const rows = Array.from({ length: Math.min(100, count - start) }, (_, i) => ({
      ...template,
      client_id: `bulk-${String(start + i).padStart(5, '0')}`,
    }));
    await clients.insertInto('oauth_clients').values(rows).execute();
  }
}

// The service's close() ends a fill under way: the database is the caller's (it may outlive the
// service), so a fill that went on would read every remaining page from it after close.
describe.each(databases)("the service's close() during the client cache's fill on $name", (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  const starts = new PageStarts();

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { plugins: [starts] });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  it('close() while the first page is read: no other page is read, and the database is not used after', async () => {
    await harness.service.clients.register(registration('template'));
    // Two full pages of the service's 1,000 and one more: a fill of three pages.
    await bulkInsert(harness.db, 'template', 2000);
    let closing: Promise<void> | undefined;
    let release = () => {};
    starts.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    starts.onPage = () => {
      starts.onPage = undefined;
      closing = harness.service.close();
    };
    // Not awaited yet: on SQLite's one connection the lookup's own read waits behind the held page.
    const found = harness.service.clients.find('bulk-01999');
    await vi.waitFor(() => expect(closing).toBeDefined());
    // close() waits for the page in flight: it has not resolved while that page is held.
    let closed = false;
    void closing?.then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(starts.finished).toBe(1);
    expect((await found)?.client_name).toBe('v1');
    // Time for the first page to come back and for a fill that went on to start the next one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await turns();
    expect(starts.started).toBe(1);
  });
});
