import { StorageError } from '@tessera/core';
import type { Kysely, Transaction } from 'kysely';
import { checkPrefix, type HistorySchema, readHistory, recordApplied, removeApplied } from './history.js';
import { inMigrationTransaction } from './transaction.js';
import type {
  AppliedMigration,
  MigrateDownOptions,
  MigrateOptions,
  Migration,
  MigrationDatabase,
  MigrationResult,
} from './types.js';
import { validateLockTimeout, validateMigrations, validateNamespace, validateSteps } from './validate.js';

type Direction = 'up' | 'down';

function failed(namespace: string, migration: string, direction: Direction, cause: unknown): StorageError {
  // A lost connection stays ERR_STORAGE_UNAVAILABLE: the caller may simply retry.
  if (cause instanceof StorageError && cause.code === 'ERR_STORAGE_UNAVAILABLE') return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageError(
    'ERR_STORAGE_MIGRATION_FAILED',
    `Migration "${migration}" of "${namespace}" failed (${direction}) and was rolled back: ${detail}`,
    { cause },
  );
}

async function runStep(
  trx: Transaction<HistorySchema>,
  namespace: string,
  migration: Migration,
  direction: Direction,
  finish: () => Promise<void>,
): Promise<void> {
  const run = direction === 'up' ? migration.up : migration.down;
  if (run === undefined) {
    throw new StorageError(
      'ERR_STORAGE_MIGRATION_FAILED',
      `Migration "${migration.name}" of "${namespace}" has no down function and cannot be reverted`,
    );
  }
  try {
    await run.call(migration, trx as unknown as MigrationDatabase);
    await finish();
  } catch (error) {
    throw failed(namespace, migration.name, direction, error);
  }
}

function currentOf(history: readonly AppliedMigration[]): string | null {
  return history.at(-1)?.name ?? null;
}

/**
 * Applies the migrations of a namespace that are not applied yet, in list order, each in its own
 * transaction. Running it again applies nothing. Fails with ERR_STORAGE_MIGRATION_FAILED when the
 * recorded history is not the start of the list, or when a migration throws (that one is rolled
 * back; the ones before it stay applied).
 */
export async function migrate<Schema>(db: Kysely<Schema>, options: MigrateOptions): Promise<MigrationResult> {
  const namespace = validateNamespace(options.namespace);
  const migrations = validateMigrations(options.migrations);
  const lockTimeoutMs = validateLockTimeout(options);
  const now = options.now ?? (() => new Date());
  const applied: string[] = [];
  for (;;) {
    // One migration per transaction, re-reading the history under the lock each time, so a
    // concurrent runner that got there first is seen and nothing is applied twice.
    const step = await inMigrationTransaction(
      db as Kysely<unknown>,
      async (trx) => {
        const history = await readHistory(trx, namespace);
        checkPrefix(namespace, history, migrations);
        const next = migrations[history.length];
        if (next === undefined) return { done: true as const, current: currentOf(history) };
        await runStep(trx, namespace, next, 'up', () =>
          recordApplied(trx, namespace, next.name, history.length, now()),
        );
        return { done: false as const, name: next.name };
      },
      lockTimeoutMs,
    );
    if (step.done) return Object.freeze({ namespace, names: Object.freeze(applied), current: step.current });
    applied.push(step.name);
  }
}

/** Reverts the latest `steps` applied migrations of a namespace with their `down`, newest first. */
export async function migrateDown<Schema>(
  db: Kysely<Schema>,
  options: MigrateDownOptions,
): Promise<MigrationResult> {
  const namespace = validateNamespace(options.namespace);
  const migrations = validateMigrations(options.migrations);
  const steps = validateSteps(options);
  const lockTimeoutMs = validateLockTimeout(options);
  const reverted: string[] = [];
  let current: string | null = null;
  while (reverted.length < steps) {
    const step = await inMigrationTransaction(
      db as Kysely<unknown>,
      async (trx) => {
        const history = await readHistory(trx, namespace);
        checkPrefix(namespace, history, migrations);
        const last = migrations[history.length - 1];
        if (last === undefined) return { done: true as const };
        await runStep(trx, namespace, last, 'down', () => removeApplied(trx, namespace, last.name));
        return { done: false as const, name: last.name, current: history.at(-2)?.name ?? null };
      },
      lockTimeoutMs,
    );
    if (step.done) {
      current = null;
      break;
    }
    reverted.push(step.name);
    current = step.current;
  }
  return Object.freeze({ namespace, names: Object.freeze(reverted), current });
}

/** The applied migrations of a namespace, oldest first (creates the history table when missing). */
export async function listAppliedMigrations<Schema>(
  db: Kysely<Schema>,
  namespace: string,
): Promise<readonly AppliedMigration[]> {
  const valid = validateNamespace(namespace);
  return inMigrationTransaction(db as Kysely<unknown>, (trx) => readHistory(trx, valid));
}
