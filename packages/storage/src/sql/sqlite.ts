import { BoundedCache } from '@tessera/core';
import type SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type Dialect,
  type SqliteDatabase as KyselySqliteDatabase,
  SqliteDialect,
} from 'kysely';
import { sqliteDriver } from '../lib/drivers.js';
import type { ValidSqliteConfig } from './config.js';
import { guardedDialect } from './dialect.js';
import { unavailable } from './errors.js';

/**
 * Opens the file now, so a bad path fails at start. WAL lets readers run beside the writer;
 * foreign keys are off by default in SQLite and we want them enforced; the busy timeout makes a
 * writer wait for another process's lock instead of failing at once.
 */
export function sqliteDialect(config: ValidSqliteConfig): Dialect {
  const context = { target: `SQLite file ${config.filename}`, secrets: [] };
  let database: SqliteDatabase.Database;
  try {
    database = new (sqliteDriver())(config.filename, { timeout: config.busyTimeoutMillis });
  } catch (error) {
    throw unavailable(error, context);
  }
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${config.busyTimeoutMillis}`);
  } catch (error) {
    database.close();
    throw unavailable(error, context);
  }
  return guardedDialect(new SqliteDialect({ database: reusingStatements(database) }), {
    context,
    // A deferred `begin` that reads and then writes fails with SQLITE_BUSY at once when another
    // connection wrote in between (the busy timeout does not apply); taking the write lock up
    // front makes transactions queue on the busy timeout instead.
    beginStatement: CompiledQuery.raw('begin immediate'),
  });
}

/** Distinct statements kept prepared: far more than the queries a service's code can write. */
const preparedStatements = 512;

/**
 * The database as Kysely's SQLite driver sees it, each statement prepared once per SQL text.
 * Kysely prepares every query it runs; preparing (parsing and planning) cost more than the read
 * itself on a primary-key lookup (a token request from a client not in the client cache).
 * Reusing a statement is safe here: the driver runs one query at a time on its one connection,
 * and SQLite re-prepares a statement by itself when the schema changed under it.
 */
function reusingStatements(database: SqliteDatabase.Database): KyselySqliteDatabase {
  const statements = new BoundedCache<SqliteDatabase.Statement>({ max: preparedStatements });
  return {
    close: () => database.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
