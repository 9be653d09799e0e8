import { StorageError, TesseraTypeError } from '@tessera/core';
import { type Kysely, PostgresAdapter, SqliteAdapter, sql, type Transaction } from 'kysely';
import { ensureHistoryTable, type HistoryDatabase, type HistorySchema } from './history.js';

type Lock = (trx: Transaction<HistorySchema>, timeoutMs: number) => Promise<void>;

/** How long a runner waits for another one's migration lock by default: two minutes. */
export const defaultMigrationLockTimeoutMs = 120_000;

// Every runner of the same schema takes the same transaction-scoped advisory lock, so two
// instances starting at once apply each migration once: the second waits, then re-reads the
// history. The lock is released by commit or rollback, even if the process dies. The wait is
// bounded by `lock_timeout`, set for this statement only (the migration's own statements keep the
// server's setting), so an instance stuck while holding it cannot hang every other start.
const postgresLock: Lock = async (trx, timeoutMs) => {
  const { rows } = await sql<{
    previous: string;
  }>`select current_setting('lock_timeout') as previous`.execute(trx);
  await sql`select set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`.execute(trx);
  try {
    await sql`select pg_advisory_xact_lock(hashtext('tessera_migrations'), hashtext(coalesce(current_schema(), '')))`.execute(
      trx,
    );
  } catch (error) {
    if ((error as { code?: unknown }).code === '55P03') {
      throw new StorageError(
        'ERR_STORAGE_UNAVAILABLE',
        `Another runner has held the migration lock for more than ${timeoutMs} ms; try again later`,
        { cause: error },
      );
    }
    throw error;
  }
  await sql`select set_config('lock_timeout', ${rows[0]?.previous ?? '0'}, true)`.execute(trx);
};

// SQLite has one writer at a time: the transaction's write lock (begin immediate on databases
// from createDatabase, or the first write otherwise) already serialises runners.
const sqliteLock: Lock = async () => {};

function lockFor(db: Kysely<unknown>): Lock {
  // getExecutor() is marked internal by Kysely, but its own Migrator uses it in the same way.
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return postgresLock;
  if (adapter instanceof SqliteAdapter) return sqliteLock;
  throw new TesseraTypeError(
    'ERR_INVALID_MIGRATIONS',
    'migrations run only on SQLite and PostgreSQL databases',
  );
}

/**
 * Runs one step of a migration run in its own transaction, under the migration lock, with the
 * history table present. A throw rolls the whole step back (both dialects have transactional DDL).
 */
export async function inMigrationTransaction<T>(
  db: Kysely<unknown>,
  work: (trx: Transaction<HistorySchema>) => Promise<T>,
  lockTimeoutMs: number = defaultMigrationLockTimeoutMs,
): Promise<T> {
  const lock = lockFor(db);
  const trx = await (db as unknown as HistoryDatabase).startTransaction().execute();
  try {
    await lock(trx, lockTimeoutMs);
    await ensureHistoryTable(trx);
    const result = await work(trx);
    await trx.commit().execute();
    return result;
  } catch (error) {
    // If the link is gone the server rolls back on its own; the original error is what matters.
    await trx
      .rollback()
      .execute()
      .catch(() => {});
    throw error;
  }
}
