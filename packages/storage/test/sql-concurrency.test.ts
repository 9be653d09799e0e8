import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgres, type TestDatabase } from '../../../test/support/databases.js';
import { createDatabase, listAppliedMigrations, type Migration, migrate } from '../src/sql/index.js';

/** Five migrations that log which runner applied them, each slow enough for runners to overlap. */
function loggedMigrations(runner: string): Migration[] {
  const log =
    (name: string): Migration['up'] =>
    async (db) => {
      if (name === 'm0') {
        await db.schema
          .createTable('migration_log')
          .addColumn('name', 'varchar(32)', (c) => c.notNull())
          .addColumn('runner', 'varchar(32)', (c) => c.notNull())
          .execute();
      }
      await sql`select pg_sleep(0.02)`.execute(db);
      await db.insertInto('migration_log').values({ name, runner }).execute();
    };
  return ['m0', 'm1', 'm2', 'm3', 'm4'].map((name) => ({ name, up: log(name) }));
}

describe('concurrent migration runners on postgres', () => {
  const runners = ['a', 'b', 'c'];
  let env: TestDatabase;
  let dbs: Kysely<unknown>[];

  beforeEach(async () => {
    env = await postgres.create();
    // One pool per runner, as separate instances of a service would have.
    dbs = await Promise.all(runners.map(() => createDatabase(env.config)));
  });

  afterEach(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
    await env.cleanup();
  });

  it('applies each migration exactly once when runners start at the same time', async () => {
    const results = await Promise.all(
      dbs.map((db, i) => migrate(db, { namespace: 'race', migrations: loggedMigrations(runners[i] ?? '?') })),
    );

    const appliedByRuns = results.flatMap((result) => result.names);
    expect([...appliedByRuns].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    for (const result of results) expect(result.current).toBe('m4');

    const [first] = dbs;
    if (first === undefined) throw new Error('no database');
    const log = await first
      .withTables<{ migration_log: { name: string; runner: string } }>()
      .selectFrom('migration_log')
      .select(['name', 'runner'])
      .orderBy('name')
      .execute();
    expect(log.map((row) => row.name)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // The log agrees with what each run said it applied.
    for (const [i, result] of results.entries()) {
      const mine = log.filter((row) => row.runner === runners[i]).map((row) => row.name);
      expect(mine).toEqual([...result.names]);
    }
    expect((await listAppliedMigrations(first, 'race')).map((m) => m.name)).toEqual([
      'm0',
      'm1',
      'm2',
      'm3',
      'm4',
    ]);
  });
});

describe('concurrent migration runners on sqlite, in separate processes', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-sql-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function runChild(filename: string, runner: string): Promise<string[]> {
    const script = fileURLToPath(new URL('./sql/migrate-child.ts', import.meta.url));
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script, filename, runner],
        { timeout: 15_000 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`runner ${runner} failed: ${stderr}`));
          else resolve(JSON.parse(stdout) as string[]);
        },
      );
    });
  }

  it('applies each migration exactly once', async () => {
    const filename = join(dir, 'shared.db');
    const results = await Promise.all(['a', 'b'].map((runner) => runChild(filename, runner)));

    expect(results.flat().sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const db = await createDatabase({ dialect: 'sqlite', filename });
    try {
      const log = await db
        .withTables<{ migration_log: { name: string; runner: string } }>()
        .selectFrom('migration_log')
        .select(['name', 'runner'])
        .orderBy('name')
        .execute();
      expect(log.map((row) => row.name)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(log.filter((row) => row.runner === 'a').map((row) => row.name)).toEqual(results[0]);
    } finally {
      await db.destroy();
    }
  });
});
