import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { POSTGRES_URL } from '../../../test/support/databases.js';
import { createDatabase, parseDatabaseUrl } from '../src/sql/index.js';

describe('parseDatabaseUrl', () => {
  it('reads sqlite: URLs as a file or memory', () => {
    expect(parseDatabaseUrl('sqlite:./.tessera/tessera.db')).toEqual({
      dialect: 'sqlite',
      filename: './.tessera/tessera.db',
    });
    expect(parseDatabaseUrl('sqlite:/var/lib/tessera.db')).toEqual({
      dialect: 'sqlite',
      filename: '/var/lib/tessera.db',
    });
    expect(parseDatabaseUrl('sqlite:///var/lib/tessera.db')).toEqual({
      dialect: 'sqlite',
      filename: '/var/lib/tessera.db',
    });
    expect(parseDatabaseUrl('sqlite:tessera.db')).toEqual({ dialect: 'sqlite', filename: 'tessera.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', filename: ':memory:' });
  });

  it('passes postgres:// and postgresql:// URLs on whole', () => {
    const url = 'postgres://tessera:secret@db.internal:5432/tessera?sslmode=require';
    expect(parseDatabaseUrl(url)).toEqual({ dialect: 'postgres', connectionString: url });
    expect(parseDatabaseUrl('postgresql://db/x')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgresql://db/x',
    });
  });

  it('refuses anything else without echoing it', () => {
    for (const url of ['', 'sqlite:', 'sqlite://', 'mysql://root:hunter2@db/x', 'hunter2', './file.db']) {
      let error: unknown;
      try {
        parseDatabaseUrl(url);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_DATABASE_CONFIG' });
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
    expect(() => parseDatabaseUrl(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('parseDatabaseUrl with createDatabase', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-sql-url-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the SQLite file it names', async () => {
    const file = join(dir, 'url.db');
    const db = await createDatabase(parseDatabaseUrl(`sqlite:${file}`));
    await db.destroy();
    expect((await stat(file)).isFile()).toBe(true);
  });

  it('opens an in-memory SQLite database and the PostgreSQL server', async () => {
    for (const url of ['sqlite::memory:', POSTGRES_URL]) {
      const db = await createDatabase(parseDatabaseUrl(url));
      try {
        const result = await sql<{ one: number }>`select 1 as one`.execute(db);
        expect(Number(result.rows[0]?.one)).toBe(1);
      } finally {
        await db.destroy();
      }
    }
  });
});
