import { type Dialect, PostgresDialect } from 'kysely';
import { postgresDriver } from '../lib/drivers.js';
import type { ValidPostgresConfig } from './config.js';
import { guardedDialect } from './dialect.js';
import { describePostgresTarget, secretsOf } from './redact.js';

/** A pool with a connect timeout, so an unreachable server fails fast instead of hanging. */
export function postgresDialect(config: ValidPostgresConfig): Dialect {
  const pool = new (postgresDriver().Pool)({
    connectionString: config.connectionString,
    max: config.max,
    idleTimeoutMillis: config.idleTimeoutMillis,
    connectionTimeoutMillis: config.connectionTimeoutMillis,
    ...(config.searchPath.length > 0 ? { options: `-c search_path=${config.searchPath.join(',')}` } : {}),
  });
  // A connection whose server goes away emits 'error': on the pool while idle, on the client while
  // checked out. Unhandled, either would crash the process. The query in flight rejects anyway and
  // is reported as ERR_STORAGE_UNAVAILABLE; the pool drops the dead client when it is released.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return guardedDialect(new PostgresDialect({ pool }), {
    context: { target: describePostgresTarget(config.url), secrets: secretsOf(config.url) },
  });
}
