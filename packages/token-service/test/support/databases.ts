import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import pg from 'pg';

export const POSTGRES_URL =
  process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Where a test's data lives; `open` may be called again after a close (restart tests). */
export interface TestDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  open(): Promise<Kysely<unknown>>;
  /** Drops the schema or deletes the file. */
  cleanup(): Promise<void>;
}

export interface DatabaseFixture {
  readonly name: 'sqlite' | 'postgres';
  create(): Promise<TestDatabase>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export const sqlite: DatabaseFixture = {
  name: 'sqlite',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-ts-'));
    const filename = join(dir, 'tessera.db');
    return {
      dialect: 'sqlite',
      open: () => createDatabase({ dialect: 'sqlite', filename }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

export const postgres: DatabaseFixture = {
  name: 'postgres',
  async create() {
    // One schema per test: runs stay apart on the shared server and are dropped afterwards.
    const schema = `tessera_ts_${randomBytes(6).toString('hex')}`;
    await adminQuery(`create schema ${schema}`);
    return {
      dialect: 'postgres',
      open: () => createDatabase({ dialect: 'postgres', connectionString: POSTGRES_URL, searchPath: schema }),
      cleanup: () => adminQuery(`drop schema if exists ${schema} cascade`),
    };
  },
};

/** Every suite that touches SQL runs once per database (`describe.each(databases)`). */
export const databases: readonly DatabaseFixture[] = [sqlite, postgres];
