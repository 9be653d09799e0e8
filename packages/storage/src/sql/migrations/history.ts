import { StorageError } from '@tessera/core';
import type { Kysely } from 'kysely';
import type { AppliedMigration, Migration } from './types.js';

export const HISTORY_TABLE = 'tessera_migrations';

export interface HistorySchema {
  tessera_migrations: {
    namespace: string;
    name: string;
    position: number;
    applied_at: string;
  };
}

export type HistoryDatabase = Kysely<HistorySchema>;

/**
 * One table for every namespace. `position` keeps the order of the list (timestamps can tie);
 * `applied_at` is an ISO 8601 string because SQLite has no timestamp type.
 */
export async function ensureHistoryTable(db: HistoryDatabase): Promise<void> {
  await db.schema
    .createTable(HISTORY_TABLE)
    .ifNotExists()
    .addColumn('namespace', 'varchar(128)', (col) => col.notNull())
    .addColumn('name', 'varchar(255)', (col) => col.notNull())
    .addColumn('position', 'integer', (col) => col.notNull())
    .addColumn('applied_at', 'varchar(32)', (col) => col.notNull())
    .addPrimaryKeyConstraint('tessera_migrations_pk', ['namespace', 'name'])
    .addUniqueConstraint('tessera_migrations_position_uq', ['namespace', 'position'])
    .execute();
}

export async function readHistory(db: HistoryDatabase, namespace: string): Promise<AppliedMigration[]> {
  const rows = await db
    .selectFrom(HISTORY_TABLE)
    .select(['name', 'position', 'applied_at'])
    .where('namespace', '=', namespace)
    .orderBy('position')
    .execute();
  return rows.map((row) => ({
    name: row.name,
    position: Number(row.position),
    appliedAt: new Date(row.applied_at),
  }));
}

export async function recordApplied(
  db: HistoryDatabase,
  namespace: string,
  name: string,
  position: number,
  appliedAt: Date,
): Promise<void> {
  await db
    .insertInto(HISTORY_TABLE)
    .values({ namespace, name, position, applied_at: appliedAt.toISOString() })
    .execute();
}

export async function removeApplied(db: HistoryDatabase, namespace: string, name: string): Promise<void> {
  await db.deleteFrom(HISTORY_TABLE).where('namespace', '=', namespace).where('name', '=', name).execute();
}

/**
 * The recorded history must be exactly the start of the given list. Anything else means a
 * released migration was renamed, removed or reordered, and applying more would build on a schema
 * nobody can reproduce.
 */
export function checkPrefix(
  namespace: string,
  history: readonly AppliedMigration[],
  migrations: readonly Migration[],
): void {
  for (const [index, applied] of history.entries()) {
    const given = migrations[index];
    if (applied.position !== index || given?.name !== applied.name) {
      const found = given === undefined ? 'the list ends there' : `the list has "${given.name}"`;
      throw new StorageError(
        'ERR_STORAGE_MIGRATION_FAILED',
        `Migrations of "${namespace}" do not match the database: position ${index} was applied as ` +
          `"${applied.name}" but ${found}. A released migration was renamed, removed or reordered.`,
      );
    }
  }
}
