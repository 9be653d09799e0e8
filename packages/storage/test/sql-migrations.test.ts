import { StorageError } from '@tessera/core';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databases, POSTGRES_URL, postgres, type TestDatabase } from '../../../test/support/databases.js';
import {
  createDatabase,
  listAppliedMigrations,
  type Migration,
  migrate,
  migrateDown,
} from '../src/sql/index.js';
import { accountMigrations, failingMigration, laterMigration } from './sql/migrations.js';

describe.each(databases)('migrations on $name', (fixture) => {
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

  async function tableNames(): Promise<string[]> {
    const tables = await db.introspection.getTables();
    return tables
      .filter((table) => env.schema === undefined || table.schema === env.schema)
      .map((table) => table.name)
      .sort();
  }

  async function rejection(run: Promise<unknown>): Promise<StorageError> {
    const error = await run.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }

  it('applies the migrations in list order and records each one', async () => {
    const calls: string[] = [];
    const appliedAt = new Date('2030-01-02T03:04:05.678Z');
    const result = await migrate(db, {
      namespace: 'accounts',
      migrations: accountMigrations(calls),
      now: () => appliedAt,
    });

    expect(result).toEqual({
      namespace: 'accounts',
      names: ['001_accounts', '002_sessions', '003_display_name'],
      current: '003_display_name',
    });
    expect(calls).toEqual(['001_accounts', '002_sessions', '003_display_name']);
    expect(await tableNames()).toEqual(['accounts', 'sessions', 'tessera_migrations']);

    const history = await listAppliedMigrations(db, 'accounts');
    expect(history).toEqual([
      { name: '001_accounts', position: 0, appliedAt },
      { name: '002_sessions', position: 1, appliedAt },
      { name: '003_display_name', position: 2, appliedAt },
    ]);
    // The data step of 003 ran against the column 003 added.
    const rows = await db
      .withTables<{ accounts: { id: number; email: string; display_name: string } }>()
      .selectFrom('accounts')
      .select(['email', 'display_name'])
      .execute();
    expect(rows).toEqual([{ email: 'admin@example.com', display_name: 'Admin' }]);
  });

  it('applies nothing on a second run', async () => {
    await migrate(db, { namespace: 'accounts', migrations: accountMigrations() });
    const calls: string[] = [];
    const again = await migrate(db, { namespace: 'accounts', migrations: accountMigrations(calls) });

    expect(again).toEqual({ namespace: 'accounts', names: [], current: '003_display_name' });
    expect(calls).toEqual([]);
    expect(await listAppliedMigrations(db, 'accounts')).toHaveLength(3);
  });

  it('applies only the migrations appended since the last run', async () => {
    const first = accountMigrations().slice(0, 2);
    await migrate(db, { namespace: 'accounts', migrations: first });
    const calls: string[] = [];
    const result = await migrate(db, { namespace: 'accounts', migrations: accountMigrations(calls) });

    expect(result.names).toEqual(['003_display_name']);
    expect(calls).toEqual(['003_display_name']);
  });

  it('rolls a failing migration back, keeps the ones before it and names it in the error', async () => {
    const migrations = [...accountMigrations(), failingMigration, laterMigration];
    const error = await rejection(migrate(db, { namespace: 'accounts', migrations }));

    expect(error.code).toBe('ERR_STORAGE_MIGRATION_FAILED');
    expect(error.message).toContain('004_half_done');
    expect(error.message).toContain('accounts');
    expect(error.cause).toBeDefined();
    // No partial table, no record, and nothing after it ran.
    expect(await tableNames()).toEqual(['accounts', 'sessions', 'tessera_migrations']);
    const history = await listAppliedMigrations(db, 'accounts');
    expect(history.map((m) => m.name)).toEqual(['001_accounts', '002_sessions', '003_display_name']);
  });

  it('applies the rest once the failing migration is fixed', async () => {
    await rejection(
      migrate(db, { namespace: 'accounts', migrations: [...accountMigrations(), failingMigration] }),
    );
    const fixed: Migration = {
      name: failingMigration.name,
      async up(trx) {
        await trx.schema.createTable('half_done').addColumn('id', 'integer').execute();
      },
    };
    const result = await migrate(db, {
      namespace: 'accounts',
      migrations: [...accountMigrations(), fixed, laterMigration],
    });

    expect(result.names).toEqual(['004_half_done', '005_later']);
    expect(await tableNames()).toEqual(['accounts', 'half_done', 'later', 'sessions', 'tessera_migrations']);
  });

  it.each([
    ['renamed', (list: Migration[]) => [list[0], { ...list[1], name: '002_renamed' }, list[2]]],
    ['removed', (list: Migration[]) => [list[0], list[2]]],
    ['reordered', (list: Migration[]) => [list[1], list[0], list[2]]],
    ['truncated', (list: Migration[]) => [list[0]]],
  ] as const)('refuses a list whose start is not the recorded history (%s)', async (_case, change) => {
    const original = accountMigrations();
    await migrate(db, { namespace: 'accounts', migrations: original.slice(0, 2) });
    const calls: string[] = [];
    const changed = change(accountMigrations(calls)).filter((m): m is Migration => m !== undefined);

    const error = await rejection(migrate(db, { namespace: 'accounts', migrations: changed }));

    expect(error.code).toBe('ERR_STORAGE_MIGRATION_FAILED');
    expect(error.message).toContain('accounts');
    expect(calls).toEqual([]);
    expect((await listAppliedMigrations(db, 'accounts')).map((m) => m.name)).toEqual([
      '001_accounts',
      '002_sessions',
    ]);
  });

  it('keeps the histories of two namespaces apart', async () => {
    const other: Migration[] = [
      {
        name: '001_accounts',
        async up(trx) {
          await trx.schema
            .createTable('tokens')
            .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
            .execute();
        },
      },
    ];
    await migrate(db, { namespace: 'accounts', migrations: accountMigrations().slice(0, 1) });
    const result = await migrate(db, { namespace: 'token-service', migrations: other });

    // Same migration name, other namespace: applied, not mistaken for the first namespace's.
    expect(result.names).toEqual(['001_accounts']);
    expect((await listAppliedMigrations(db, 'accounts')).map((m) => m.name)).toEqual(['001_accounts']);
    expect((await listAppliedMigrations(db, 'token-service')).map((m) => m.name)).toEqual(['001_accounts']);
    // Growing one namespace leaves the other alone.
    const grown = await migrate(db, { namespace: 'accounts', migrations: accountMigrations() });
    expect(grown.names).toEqual(['002_sessions', '003_display_name']);
    expect(await listAppliedMigrations(db, 'token-service')).toHaveLength(1);
    expect(await listAppliedMigrations(db, 'unknown')).toEqual([]);
  });

  it('reverts the latest migrations with down, newest first', async () => {
    await migrate(db, { namespace: 'accounts', migrations: accountMigrations() });
    const result = await migrateDown(db, {
      namespace: 'accounts',
      migrations: accountMigrations(),
      steps: 2,
    });

    expect(result).toEqual({
      namespace: 'accounts',
      names: ['003_display_name', '002_sessions'],
      current: '001_accounts',
    });
    expect(await tableNames()).toEqual(['accounts', 'tessera_migrations']);
    const again = await migrate(db, { namespace: 'accounts', migrations: accountMigrations() });
    expect(again.names).toEqual(['002_sessions', '003_display_name']);
  });

  it('refuses to revert a migration that has no down', async () => {
    await migrate(db, { namespace: 'accounts', migrations: [laterMigration] });
    const error = await rejection(migrateDown(db, { namespace: 'accounts', migrations: [laterMigration] }));

    expect(error.code).toBe('ERR_STORAGE_MIGRATION_FAILED');
    expect(error.message).toContain('005_later');
    expect(await listAppliedMigrations(db, 'accounts')).toHaveLength(1);
  });

  it('enforces foreign keys', async () => {
    await migrate(db, { namespace: 'accounts', migrations: accountMigrations() });
    const typed = db.withTables<{ sessions: { id: string; account_id: number } }>();

    await expect(
      typed.insertInto('sessions').values({ id: 's1', account_id: 42 }).execute(),
    ).rejects.toThrow();
    await typed.insertInto('sessions').values({ id: 's1', account_id: 1 }).execute();
    expect(await typed.selectFrom('sessions').select('id').execute()).toEqual([{ id: 's1' }]);
  });

  it('rejects a malformed list before touching the database', async () => {
    const [first] = accountMigrations();
    const run = (migrations: unknown, namespace = 'accounts') =>
      migrate(db, { namespace, migrations: migrations as Migration[] });

    await expect(run([first, first])).rejects.toMatchObject({ code: 'ERR_INVALID_MIGRATIONS' });
    await expect(run([{ name: 'x' }])).rejects.toMatchObject({ code: 'ERR_INVALID_MIGRATIONS' });
    await expect(run([{ name: '', up: async () => {} }])).rejects.toMatchObject({
      code: 'ERR_INVALID_MIGRATIONS',
    });
    await expect(run([], '')).rejects.toMatchObject({ code: 'ERR_INVALID_MIGRATIONS' });
    await expect(run([], 'bad namespace')).rejects.toMatchObject({ code: 'ERR_INVALID_MIGRATIONS' });
    for (const lockTimeoutMs of [0, -1, 1.5, 86_400_001]) {
      await expect(
        migrate(db, { namespace: 'accounts', migrations: [first as Migration], lockTimeoutMs }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_MIGRATIONS' });
    }
    expect(await tableNames()).toEqual([]);
  });
});

describe('the migration lock on postgres', () => {
  let env: TestDatabase;
  let db: Kysely<unknown>;
  let holder: pg.Client | undefined;

  beforeEach(async () => {
    env = await postgres.create();
    db = await createDatabase(env.config);
  });

  afterEach(async () => {
    await holder?.end();
    holder = undefined;
    await db.destroy();
    await env.cleanup();
  });

  it('gives up on a lock another runner keeps past lockTimeoutMs, then migrates once it is free', async () => {
    // Another runner of the same schema, stuck inside its migration transaction.
    holder = new pg.Client({ connectionString: POSTGRES_URL });
    await holder.connect();
    await holder.query(`set search_path to ${env.schema}`);
    await holder.query('begin');
    await holder.query(
      "select pg_advisory_xact_lock(hashtext('tessera_migrations'), hashtext(coalesce(current_schema(), '')))",
    );

    const started = performance.now();
    const error = await migrate(db, {
      namespace: 'accounts',
      migrations: accountMigrations(),
      lockTimeoutMs: 300,
    }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'ERR_STORAGE_UNAVAILABLE' });
    expect((error as Error).message).toContain('migration lock');
    // It waited for the lock (not a failure of its own), and no longer than its bound allows.
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);

    await holder.query('rollback');
    const result = await migrate(db, {
      namespace: 'accounts',
      migrations: accountMigrations(),
      lockTimeoutMs: 300,
    });
    expect(result.names.length).toBe(accountMigrations().length);
  });

  it("bounds only the wait for the lock: a migration's own statements keep the server's lock_timeout", async () => {
    await migrate(db, {
      namespace: 'settings',
      lockTimeoutMs: 300,
      migrations: [
        {
          name: '001-record-lock-timeout',
          async up(trx) {
            await sql`create table seen_lock_timeout as select current_setting('lock_timeout') as value`.execute(
              trx,
            );
          },
        },
      ],
    });
    const { rows } = await sql<{ value: string }>`select value from seen_lock_timeout`.execute(db);
    expect(rows).toEqual([{ value: '0' }]);
  });
});
