import { Kysely, sql } from 'kysely';
import { type DatabaseConfig, validateDatabaseConfig } from './config.js';
import { postgresDialect } from './postgres.js';
import { sqliteDialect } from './sqlite.js';

/**
 * Opens a database and checks it answers, so a wrong path, host or password fails at start with
 * StorageError ERR_STORAGE_UNAVAILABLE (never with the password in the message) rather than on the
 * first request. A bad config is a TesseraTypeError ERR_INVALID_DATABASE_CONFIG. Close it with
 * `db.destroy()`.
 */
export async function createDatabase<Schema = unknown>(config: DatabaseConfig): Promise<Kysely<Schema>> {
  const valid = validateDatabaseConfig(config);
  const dialect = valid.dialect === 'sqlite' ? sqliteDialect(valid) : postgresDialect(valid);
  const db = new Kysely<Schema>({ dialect });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    throw error;
  }
  return db;
}
