// Fresh, empty databases for the packages' SQL tests: a SQLite file in its own temp dir, or a
// PostgreSQL schema of its own on the shared test server (the pool's search_path points at it),
// each thrown away by cleanup(). Suites that touch SQL run once per dialect: describe.each(databases).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '@tessera/storage/sql';
import pg from 'pg';

export const POSTGRES_URL =
  process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database of one dialect and how to throw it away. */
export interface TestDatabase {
  readonly config: DatabaseConfig;
  /** The PostgreSQL schema the database lives in; undefined on SQLite. */
  readonly schema: string | undefined;
  /** Deletes the file or drops the schema. */
  cleanup(): Promise<void>;
}

export interface DatabaseFixture {
  readonly name: 'sqlite' | 'postgres';
  create(): Promise<TestDatabase>;
}

/** Runs one statement on the test server outside the database under test. */
export async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export const sqlite: DatabaseFixture = {
  name: 'sqlite',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-test-'));
    return {
      config: { dialect: 'sqlite', filename: join(dir, 'test.db') },
      schema: undefined,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

export const postgres: DatabaseFixture = {
  name: 'postgres',
  async create() {
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

export const databases: readonly DatabaseFixture[] = [sqlite, postgres];
