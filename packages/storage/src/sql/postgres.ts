import { type Dialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { ValidPostgresConfig } from './config.js';
import { guardedDialect } from './dialect.js';
import { describePostgresTarget, secretsOf } from './redact.js';

/** A pool with a connect timeout, so an unreachable server fails fast instead of hanging. */
export function postgresDialect(config: ValidPostgresConfig): Dialect {
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: config.max,
    idleTimeoutMillis: config.idleTimeoutMillis,
    connectionTimeoutMillis: config.connectionTimeoutMillis,
    ...(config.searchPath.length > 0 ? { options: `-c search_path=${config.searchPath.join(',')}` } : {}),
  });
  // An idle client whose server goes away emits 'error' on the pool; unhandled, that would crash
  // the process. The next acquire fails and is reported as ERR_STORAGE_UNAVAILABLE instead.
  pool.on('error', () => {});
  return guardedDialect(new PostgresDialect({ pool }), {
    context: { target: describePostgresTarget(config.url), secrets: secretsOf(config.url) },
  });
}
