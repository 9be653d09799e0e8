import type { ErrorCodeEntry } from './base.js';
import { errorFamily } from './family.js';

/** Failures of a store, a channel or the SQL layer. The caller should fail closed. */
export const storageErrorCodes = {
  ERR_STORAGE_UNAVAILABLE: {
    status: 503,
    meaning: 'The store cannot be reached (connection refused, closed or timed out).',
  },
  ERR_STORAGE_VALUE_INVALID: {
    status: 503,
    meaning: 'A stored value could not be decoded, or an operation met a value of the wrong kind.',
  },
  ERR_STORAGE_MIGRATION_FAILED: {
    status: 503,
    meaning: 'A schema migration failed; the database is left at the last applied migration.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type StorageErrorCode = keyof typeof storageErrorCodes;

// A store's failure is the server's problem: its detail (a host, a driver message) stays in the log.
export class StorageError extends errorFamily(storageErrorCodes, { expose: false }) {}
