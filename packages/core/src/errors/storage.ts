import { TesseraError, type TesseraErrorOptions } from './base.js';

/** Failures of a store, a channel or the SQL layer. The caller should fail closed. */
export const storageErrorCodes = {
  ERR_STORAGE_UNAVAILABLE: 'The store cannot be reached (connection refused, closed or timed out).',
  ERR_STORAGE_VALUE_INVALID:
    'A stored value could not be decoded, or an operation met a value of the wrong kind.',
  ERR_STORAGE_MIGRATION_FAILED:
    'A schema migration failed; the database is left at the last applied migration.',
} as const;

export type StorageErrorCode = keyof typeof storageErrorCodes;

export class StorageError extends TesseraError<StorageErrorCode> {
  constructor(code: StorageErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(code, message, { status: 503, expose: false, ...options });
  }
}
