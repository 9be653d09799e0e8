import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';
import { type ErrorContext, isUnavailableError, unavailable } from './errors.js';

export interface GuardOptions {
  readonly context: ErrorContext;
  /** Statement that opens a transaction; SQLite uses `begin immediate` (see sqlite.ts). */
  readonly beginStatement?: CompiledQuery;
}

/**
 * Wraps a Kysely driver so that a database that cannot be reached surfaces as a StorageError
 * ERR_STORAGE_UNAVAILABLE (with no credential in it) wherever it happens: on connect, and when a
 * link dies under a query. Errors the database raises about a query itself pass through unchanged.
 */
export function guardDriver(driver: Driver, options: GuardOptions): Driver {
  const { context } = options;
  // Kysely hands our wrapped connection back to the driver, which expects its own object.
  const inner = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const unwrap = (connection: DatabaseConnection): DatabaseConnection => inner.get(connection) ?? connection;

  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw isUnavailableError(error) ? unavailable(error, context) : error;
    }
  };

  const wrap = (connection: DatabaseConnection): DatabaseConnection => {
    const wrapped: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
        guard(async () => connection.executeQuery<R>(query)),
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> =>
        connection.streamQuery<R>(query, chunkSize),
    };
    inner.set(wrapped, connection);
    return wrapped;
  };

  const wrapped: Driver = {
    init: () => guard(() => driver.init()),
    acquireConnection: async () => {
      try {
        return wrap(await driver.acquireConnection());
      } catch (error) {
        // Any failure to obtain a connection means the database is out of reach as configured.
        throw unavailable(error, context);
      }
    },
    beginTransaction: (connection: DatabaseConnection, settings: TransactionSettings) => {
      const begin = options.beginStatement;
      if (begin !== undefined && settings.accessMode === undefined && settings.isolationLevel === undefined) {
        return guard(async () => {
          await unwrap(connection).executeQuery(begin);
        });
      }
      return guard(() => driver.beginTransaction(unwrap(connection), settings));
    },
    commitTransaction: (connection) => guard(() => driver.commitTransaction(unwrap(connection))),
    rollbackTransaction: (connection) => guard(() => driver.rollbackTransaction(unwrap(connection))),
    releaseConnection: (connection) => driver.releaseConnection(unwrap(connection)),
    destroy: () => driver.destroy(),
  };
  const { savepoint, rollbackToSavepoint, releaseSavepoint } = driver;
  if (savepoint !== undefined) {
    wrapped.savepoint = (connection, name, compile) =>
      guard(() => savepoint.call(driver, unwrap(connection), name, compile));
  }
  if (rollbackToSavepoint !== undefined) {
    wrapped.rollbackToSavepoint = (connection, name, compile) =>
      guard(() => rollbackToSavepoint.call(driver, unwrap(connection), name, compile));
  }
  if (releaseSavepoint !== undefined) {
    wrapped.releaseSavepoint = (connection, name, compile) =>
      guard(() => releaseSavepoint.call(driver, unwrap(connection), name, compile));
  }
  return wrapped;
}
