export type {
  DatabaseConfig,
  PostgresDatabaseConfig,
  PostgresPoolOptions,
  SqliteDatabaseConfig,
} from './config.js';
export { createDatabase } from './database.js';
export { HISTORY_TABLE } from './migrations/history.js';
export { listAppliedMigrations, migrate, migrateDown } from './migrations/runner.js';
export type {
  AppliedMigration,
  MigrateDownOptions,
  MigrateOptions,
  Migration,
  MigrationDatabase,
  MigrationResult,
} from './migrations/types.js';
export { probeDatabase } from './probe.js';
export { parseDatabaseUrl } from './url.js';
