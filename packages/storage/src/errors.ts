import { type ErrorRegistry, errorRegistry, type MisuseCode } from '@tessera/core';

/**
 * The misuse codes of the stores, channels and SQL layer. Their runtime failures are core's
 * `StorageError` codes, so this package answers with no code of its own.
 */
export const storageMisuseCodes = {
  ERR_INVALID_STORE_KEY: 'A store key is not a non-empty string.',
  ERR_INVALID_VALUE: 'A value, a set member or a message is not a string.',
  ERR_INVALID_TTL:
    'The options of a write have no ttlMs, or one that is not a positive integer of milliseconds.',
  ERR_INVALID_INCREMENT: 'An increment is not a safe integer.',
  ERR_INVALID_PREFIX: 'A key prefix is not a string.',
  ERR_INVALID_TOPIC: 'A channel topic is not a non-empty string.',
  ERR_INVALID_HANDLER: 'A channel handler is not a function.',
  ERR_INVALID_DATABASE_CONFIG: 'A wrong option to createDatabase (the connection string is never echoed).',
  ERR_INVALID_MIGRATIONS:
    'A malformed migration list (a duplicate or empty name, no up), namespace or step count, or a database that is neither SQLite nor PostgreSQL.',
} as const satisfies Record<MisuseCode, string>;

/** This package's codes: misuse only. */
export const storageErrorRegistry: ErrorRegistry = errorRegistry({}, storageMisuseCodes);
