import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/** Failures of a store, a channel or the SQL layer. The caller should fail closed. */
export const storageErrorCodes: ErrorCodes<keyof typeof table.storage> = table.storage;

export type StorageErrorCode = keyof typeof storageErrorCodes;

// A store's failure is the server's problem: its detail (a host, a driver message) stays in the log.
export class StorageError extends errorFamily(storageErrorCodes, { expose: false }) {}
