import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/sql/index.js';

export const POSTGRES_URL =
  process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database of one dialect and how to throw it away. */
export interface TestDatabase {
  readonly config: DatabaseConfig;
  /** The PostgreSQL schema the database lives in; undefined on SQLite. */
  readonly schema: string | undefined;
  cleanup(): Promise<void>;
}

export interface DialectFixture {
  readonly name: 'sqlite' | 'postgres';
  create(): Promise<TestDatabase>;
}

export const sqliteFixture: DialectFixture = {
  name: 'sqlite',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-sql-'));
    return {
      config: { dialect: 'sqlite', filename: join(dir, 'test.db') },
      schema: undefined,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Runs one statement on the test server outside the database under test. */
export function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  return admin((client) => client.query(text, values));
}

export const postgresFixture: DialectFixture = {
  name: 'postgres',
  async create() {
    // A schema per test keeps runs apart on the shared server; search_path points the pool at it.
    const schema = `tessera_test_${randomBytes(6).toString('hex')}`;
    await adminQuery(`create schema ${schema}`);
    return {
      config: { dialect: 'postgres', connectionString: POSTGRES_URL, searchPath: schema },
      schema,
      cleanup: async () => {
        await adminQuery(`drop schema if exists ${schema} cascade`);
      },
    };
  },
};

export const dialects: readonly DialectFixture[] = [sqliteFixture, postgresFixture];
