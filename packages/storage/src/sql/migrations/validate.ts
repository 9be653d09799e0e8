import { TesseraTypeError } from '@tessera/core';
import { defaultMigrationLockTimeoutMs } from './transaction.js';
import type { MigrateDownOptions, MigrateOptions, Migration } from './types.js';

const NAMESPACE = /^[A-Za-z0-9@][A-Za-z0-9@_.:/-]{0,127}$/;

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_MIGRATIONS', message);
}

export function validateNamespace(namespace: unknown): string {
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) {
    throw invalid('namespace must be 1-128 characters of letters, digits, @ _ . : / -');
  }
  return namespace;
}

/** Checks the list before touching the database: a malformed list is a programming error. */
export function validateMigrations(migrations: unknown): readonly Migration[] {
  if (!Array.isArray(migrations)) throw invalid('migrations must be an array');
  const seen = new Set<string>();
  for (const [index, migration] of migrations.entries()) {
    const candidate = migration as Partial<Migration> | null;
    if (typeof candidate !== 'object' || candidate === null) {
      throw invalid(`migration at index ${index} is not an object`);
    }
    const { name, up, down } = candidate;
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
      throw invalid(`migration at index ${index} needs a name of 1-255 characters`);
    }
    if (seen.has(name)) throw invalid(`migration name "${name}" appears twice`);
    seen.add(name);
    if (typeof up !== 'function') throw invalid(`migration "${name}" has no up function`);
    if (down !== undefined && typeof down !== 'function') {
      throw invalid(`migration "${name}" has a down that is not a function`);
    }
  }
  return Object.freeze([...(migrations as readonly Migration[])]);
}

export function validateSteps(options: MigrateDownOptions): number {
  const steps = options.steps ?? 1;
  if (!Number.isSafeInteger(steps) || steps < 1) throw invalid('steps must be a positive integer');
  return steps;
}

/** `lockTimeoutMs`: a positive whole number of milliseconds, at most a day. */
export function validateLockTimeout(options: MigrateOptions): number {
  const value = options.lockTimeoutMs;
  if (value === undefined) return defaultMigrationLockTimeoutMs;
  if (!Number.isSafeInteger(value) || value <= 0 || value > 86_400_000) {
    throw invalid('lockTimeoutMs must be a whole number of ms, 1 to 86400000');
  }
  return value;
}
