import { StorageError } from '@tessera/core';

// Messages name the operation and never the key's value: values may be secrets (codes, sessions).

/** `where` names the server without credentials; `why` is the driver's reason (no key, no value). */
export function unavailable(what: string, cause?: unknown, where?: string, why?: string): StorageError {
  const at = where === undefined ? 'the store' : `the store at ${where}`;
  const reason = why === undefined || why.length === 0 ? '' : ` (${why.slice(0, 200)})`;
  return new StorageError(
    'ERR_STORAGE_UNAVAILABLE',
    `${what}: ${at} is unavailable${reason}`,
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
