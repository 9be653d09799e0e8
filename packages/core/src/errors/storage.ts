import { type ErrorCodeEntry, TesseraError, type TesseraErrorOptions } from './base.js';

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

export class StorageError extends TesseraError<StorageErrorCode> {
  constructor(code: StorageErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(code, message, { status: storageErrorCodes[code].status, expose: false, ...options });
  }
}
