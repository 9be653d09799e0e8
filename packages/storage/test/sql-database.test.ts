import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '@tessera/core';
import { type Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  adminQuery,
  databases,
  POSTGRES_URL,
  postgres,
  type TestDatabase,
} from '../../../test/support/databases.js';
import { createDatabase, type DatabaseConfig } from '../src/sql/index.js';

async function rejection(run: Promise<unknown>): Promise<StorageError> {
  const error = await run.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

/** Everything a logger could print about an error: message, stack and the chain of causes. */
function everythingSaidBy(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth += 1) {
    parts.push(
      String(current),
      current instanceof Error ? (current.stack ?? '') : '',
      JSON.stringify(current),
    );
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}

describe.each(databases)('createDatabase on $name', (fixture) => {
  let env: TestDatabase;
  let db: Kysely<unknown>;

  beforeEach(async () => {
    env = await fixture.create();
    db = await createDatabase(env.config);
  });

  afterEach(async () => {
    await db.destroy();
    await env.cleanup();
  });

  it('runs queries and transactions', async () => {
    await db.schema
      .createTable('notes')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .execute();
    const notes = db.withTables<{ notes: { id: number } }>();
    await notes.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 1 }).execute();
    });
    await expect(
      notes.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 2 }).execute();
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');

    expect(await notes.selectFrom('notes').select('id').execute()).toEqual([{ id: 1 }]);
  });

  it('leaves errors about a query itself as they are', async () => {
    const error = await sql`select * from no_such_table`.execute(db).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StorageError);
  });
});

describe('createDatabase on sqlite', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-sql-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('turns on WAL, foreign keys and the busy timeout', async () => {
    const db = await createDatabase({
      dialect: 'sqlite',
      filename: join(dir, 'pragmas.db'),
      busyTimeoutMillis: 1234,
    });
    try {
      const pragma = async (name: string) => {
        const { rows } = await sql.raw(`pragma ${name}`).execute(db);
        return Object.values(rows[0] as Record<string, unknown>)[0];
      };
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(1234);
    } finally {
      await db.destroy();
    }
  });

  // Each SQL text is prepared once and its statement reused (src/sql/sqlite.ts).
  it('answers a reused statement with its own parameters, and sees the schema change under it', async () => {
    const db = await createDatabase<{ t: { id: string; a: string; b?: string } }>({
      dialect: 'sqlite',
      filename: join(dir, 'statements.db'),
    });
    try {
      await db.schema
        .createTable('t')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('a', 'text')
        .execute();
      for (let i = 0; i < 20; i++)
        await db
          .insertInto('t')
          .values({ id: `k${i}`, a: `a${i}` })
          .execute();
      const byId = (id: string) => db.selectFrom('t').selectAll().where('id', '=', id).executeTakeFirst();
      for (let i = 19; i >= 0; i--) expect(await byId(`k${i}`)).toEqual({ id: `k${i}`, a: `a${i}` });
      expect(await byId('none')).toBeUndefined();
      await db.schema
        .alterTable('t')
        .addColumn('b', 'text', (c) => c.notNull().defaultTo('b'))
        .execute();
      expect(await byId('k3')).toEqual({ id: 'k3', a: 'a3', b: 'b' });
      const streamed: string[] = [];
      for await (const row of db
        .selectFrom('t')
        .select('id')
        .where('id', 'in', ['k1', 'k2'])
        .orderBy('id')
        .stream()) {
        streamed.push(row.id);
      }
      expect(streamed).toEqual(['k1', 'k2']);
      expect(await byId('k2')).toEqual({ id: 'k2', a: 'a2', b: 'b' });
    } finally {
      await db.destroy();
    }
  });

  it('fails with ERR_STORAGE_UNAVAILABLE when the file cannot be opened', async () => {
    const error = await rejection(
      createDatabase({ dialect: 'sqlite', filename: join(dir, 'missing-dir', 'x.db') }),
    );
    expect(error.code).toBe('ERR_STORAGE_UNAVAILABLE');
    expect(error.message).toContain('SQLite');
  });
});

describe('createDatabase on postgres', () => {
  it('puts the configured schema first on the search_path', async () => {
    const env = await postgres.create();
    const db = await createDatabase(env.config);
    try {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      expect(rows).toEqual([{ schema: env.schema }]);
    } finally {
      await db.destroy();
      await env.cleanup();
    }
  });

  it('fails with ERR_STORAGE_UNAVAILABLE, without the password, when nothing listens', async () => {
    const error = await rejection(
      createDatabase({ dialect: 'postgres', connectionString: 'postgres://u:s3cret@127.0.0.1:1/x' }),
    );

    expect(error.code).toBe('ERR_STORAGE_UNAVAILABLE');
    expect(error.message).toContain('127.0.0.1:1/x');
    expect(everythingSaidBy(error)).not.toContain('s3cret');
  });

  describe('a server that accepts connections and never answers', () => {
    let server: Server;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    });

    it('fails with ERR_STORAGE_UNAVAILABLE once the connection timeout passes', async () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const error = await rejection(
        createDatabase({
          dialect: 'postgres',
          connectionString: `postgres://u:p%40ss%2Fw0rd@127.0.0.1:${address.port}/x`,
          pool: { connectionTimeoutMillis: 200 },
        }),
      );

      expect(error.code).toBe('ERR_STORAGE_UNAVAILABLE');
      const said = everythingSaidBy(error);
      expect(said).not.toContain('p@ss/w0rd');
      expect(said).not.toContain('p%40ss%2Fw0rd');
    });
  });

  it('reports a connection killed under a query as ERR_STORAGE_UNAVAILABLE', async () => {
    const env = await postgres.create();
    const db = await createDatabase(env.config);
    try {
      const error = await db
        .connection()
        .execute(async (conn) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
          // With a timeout, pg_terminate_backend waits until the backend is gone: no race.
          await adminQuery('select pg_terminate_backend($1, 5000)', [rows[0]?.pid]);
          await sql`select 1`.execute(conn);
        })
        .then(
          () => undefined,
          (reason: unknown) => reason,
        );
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('ERR_STORAGE_UNAVAILABLE');
      // The pool replaces the dead connection: the database is usable again.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await db.destroy();
      await env.cleanup();
    }
  });
});

describe('createDatabase config', () => {
  const bad: [string, unknown][] = [
    ['an unknown dialect', { dialect: 'mysql' }],
    ['an empty filename', { dialect: 'sqlite', filename: '' }],
    ['a busy timeout of zero', { dialect: 'sqlite', filename: 'x.db', busyTimeoutMillis: 0 }],
    ['a connection string that is not a URL', { dialect: 'postgres', connectionString: 'u:s3cret host' }],
    ['another scheme', { dialect: 'postgres', connectionString: 'mysql://u:s3cret@h/x' }],
    [
      'a search path that is not an identifier',
      { dialect: 'postgres', connectionString: POSTGRES_URL, searchPath: 'a b' },
    ],
    ['a pool of zero', { dialect: 'postgres', connectionString: POSTGRES_URL, pool: { max: 0 } }],
  ];

  it.each(bad)('rejects %s with ERR_INVALID_DATABASE_CONFIG and never echoes it', async (_case, config) => {
    const error = await createDatabase(config as DatabaseConfig).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_DATABASE_CONFIG' });
    expect(String(error)).not.toContain('s3cret');
  });
});
