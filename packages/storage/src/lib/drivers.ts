import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type Pg from 'pg';

const require = createRequire(import.meta.url);

// The native SQLite addon and the PostgreSQL driver are loaded when a store or a database of
// their kind is first opened, not when this package is imported: a process that only uses memory
// or Redis (a token-mode gateway, a service) never loads them.

export function sqliteDriver(): typeof BetterSqlite3 {
  return require('better-sqlite3') as typeof BetterSqlite3;
}

export function postgresDriver(): typeof Pg {
  return require('pg') as typeof Pg;
}
