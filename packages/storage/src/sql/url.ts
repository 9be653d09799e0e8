import { TesseraTypeError } from '@tessera/core';
import type { DatabaseConfig } from './config.js';

/**
 * Turns the one-string form a command line or an environment variable gives (`--db`) into a
 * `createDatabase` config:
 *
 * - `sqlite:./tessera.db`, `sqlite:/var/lib/tessera.db`, `sqlite:///var/lib/tessera.db` → that file
 * - `sqlite::memory:` → an in-memory database
 * - `postgres://…` or `postgresql://…` → a pool on that server (the URL is passed on whole)
 *
 * Anything else is a `TesseraTypeError` ERR_INVALID_DATABASE_CONFIG whose message never repeats
 * the URL (it may hold a password). Other options (pool size, search path) can be added to the
 * result by the caller.
 */
export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (typeof url !== 'string') throw invalid('the database URL must be a string');
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    return { dialect: 'postgres', connectionString: trimmed };
  }
  if (/^sqlite:/i.test(trimmed)) {
    let filename = trimmed.slice('sqlite:'.length);
    if (filename.startsWith('//')) filename = filename.slice(2);
    if (filename.length === 0) throw invalid('a sqlite: database URL must name a file or :memory:');
    return { dialect: 'sqlite', filename };
  }
  throw invalid('the database URL must start with sqlite:, postgres:// or postgresql://');
}

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_DATABASE_CONFIG', message);
}
