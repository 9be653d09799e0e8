import type { Kysely } from 'kysely';

/**
 * What a migration sees: a transaction on the database, with no table types (a migration must keep
 * working after later ones change the schema, so it should not borrow today's schema type).
 * Build DDL with `db.schema` so one migration runs on both SQLite and PostgreSQL.
 */
export type MigrationDatabase = Kysely<Record<string, Record<string, unknown>>>;

/**
 * One step of a package's schema. `up` runs inside a transaction that the runner opens and
 * commits; it must not open its own. Never rename, remove or reorder a migration once released:
 * add a new one.
 */
export interface Migration {
  /** Unique within its list; recorded in `tessera_migrations`. */
  readonly name: string;
  up(db: MigrationDatabase): Promise<void>;
  down?(db: MigrationDatabase): Promise<void>;
}

export interface MigrateOptions {
  /** Whose migrations these are, e.g. `token-service`; each namespace has its own history. */
  readonly namespace: string;
  /** Every migration of the namespace, oldest first. */
  readonly migrations: readonly Migration[];
  /** Clock for `applied_at`; defaults to the system clock. */
  readonly now?: () => Date;
  /**
   * PostgreSQL: how long to wait for another runner's migration lock before failing with
   * ERR_STORAGE_UNAVAILABLE, in ms. Default 120 000. (SQLite waits on its busy timeout.)
   */
  readonly lockTimeoutMs?: number;
}

export interface MigrateDownOptions extends MigrateOptions {
  /** How many of the latest applied migrations to revert. Default 1. */
  readonly steps?: number;
}

export interface MigrationResult {
  readonly namespace: string;
  /** Names applied (or reverted) by this run, in the order they ran; empty when nothing was to do. */
  readonly names: readonly string[];
  /** The latest applied migration after the run, or null when none is applied. */
  readonly current: string | null;
}

export interface AppliedMigration {
  readonly name: string;
  /** Index of the migration in its list. */
  readonly position: number;
  readonly appliedAt: Date;
}
