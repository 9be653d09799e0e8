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
  cleanup(): Promise<void>;
}

export interface DialectFixture {
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

export const sqliteFixture: DialectFixture = {
  name: 'sqlite',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-identity-'));
    return {
      config: { dialect: 'sqlite', filename: join(dir, 'users.db') },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

export const postgresFixture: DialectFixture = {
  name: 'postgres',
  async create() {
    // One schema per test file on the shared server; the pool's search_path points at it.
    const schema = `tessera_identity_${randomBytes(6).toString('hex')}`;
    await adminQuery(`create schema ${schema}`);
    return {
      config: { dialect: 'postgres', connectionString: POSTGRES_URL, searchPath: schema },
      cleanup: () => adminQuery(`drop schema if exists ${schema} cascade`),
    };
  },
};

export const dialects: readonly DialectFixture[] = [sqliteFixture, postgresFixture];
