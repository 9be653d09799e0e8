import { StorageError } from '@tessera/core';

// Messages name the operation and never the key's value: values may be secrets (codes, sessions).

export function unavailable(what: string, cause?: unknown): StorageError {
  return new StorageError(
    'ERR_STORAGE_UNAVAILABLE',
    `${what}: the store is unavailable`,
    cause === undefined ? {} : { cause },
  );
}

export function closed(what: string): StorageError {
  return new StorageError('ERR_STORAGE_UNAVAILABLE', `${what}: the store is closed`);
}

export function wrongKind(operation: string, expected?: 'string' | 'set' | 'integer'): StorageError {
  const detail = expected === undefined ? '' : ` (expected ${expected})`;
  return new StorageError(
    'ERR_STORAGE_VALUE_INVALID',
    `${operation}: the key holds a value of another kind${detail}`,
  );
}
