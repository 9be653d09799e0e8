export type {
  DatabaseConfig,
  PostgresDatabaseConfig,
  PostgresPoolOptions,
  SqliteDatabaseConfig,
} from './config.js';
export { createDatabase } from './database.js';
export { HISTORY_TABLE } from './migrations/history.js';
export { listAppliedMigrations, migrate, migrateDown } from './migrations/runner.js';
// Every type of a migration's contract is public: a package's own migrations are written against them.
export type * from './migrations/types.js';
export { probeDatabase } from './probe.js';
export { parseDatabaseUrl } from './url.js';
