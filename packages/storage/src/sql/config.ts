import { TesseraTypeError } from '@tessera/core';

/** A SQLite database in one file (or `':memory:'`), opened with `better-sqlite3`. */
export interface SqliteDatabaseConfig {
  readonly dialect: 'sqlite';
  /** Path of the database file, created when missing; its directory must exist. */
  readonly filename: string;
  /** How long a writer waits for another connection's lock before failing. Default 5000 ms. */
  readonly busyTimeoutMillis?: number;
}

/** Options of the `pg` connection pool. */
export interface PostgresPoolOptions {
  /** Most connections open at once. Default 10. */
  readonly max?: number;
  /** How long an unused connection stays open. Default 10000 ms. */
  readonly idleTimeoutMillis?: number;
  /** How long opening a connection may take before it fails. Default 5000 ms; never 0 (no limit). */
  readonly connectionTimeoutMillis?: number;
}

/** A PostgreSQL database reached through a `pg` pool. */
export interface PostgresDatabaseConfig {
  readonly dialect: 'postgres';
  /** `postgres://user:password@host:port/database`; the password never appears in an error. */
  readonly connectionString: string;
  /** Schemas to put on every connection's `search_path`, first one first (where new tables go). */
  readonly searchPath?: string | readonly string[];
  readonly pool?: PostgresPoolOptions;
}

export type DatabaseConfig = SqliteDatabaseConfig | PostgresDatabaseConfig;

export interface ValidSqliteConfig {
  readonly dialect: 'sqlite';
  readonly filename: string;
  readonly busyTimeoutMillis: number;
}

export interface ValidPostgresConfig {
  readonly dialect: 'postgres';
  readonly connectionString: string;
  readonly url: URL;
  readonly searchPath: readonly string[];
  readonly max: number;
  readonly idleTimeoutMillis: number;
  readonly connectionTimeoutMillis: number;
}

export type ValidDatabaseConfig = ValidSqliteConfig | ValidPostgresConfig;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_DATABASE_CONFIG', message);
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(`${field} must be a positive integer`);
  }
  return value;
}

/** Checks a config once, before anything is opened; misuse is a TypeError, never a runtime error. */
export function validateDatabaseConfig(config: DatabaseConfig): ValidDatabaseConfig {
  if (typeof config !== 'object' || config === null) throw invalid('the database config must be an object');
  if (config.dialect === 'sqlite') {
    if (typeof config.filename !== 'string' || config.filename.length === 0) {
      throw invalid('filename must be a non-empty string');
    }
    return Object.freeze({
      dialect: 'sqlite',
      filename: config.filename,
      busyTimeoutMillis: positiveInteger(config.busyTimeoutMillis, 'busyTimeoutMillis', 5000),
    });
  }
  if (config.dialect === 'postgres') {
    return validatePostgres(config);
  }
  throw invalid('dialect must be "sqlite" or "postgres"');
}

function validatePostgres(config: PostgresDatabaseConfig): ValidPostgresConfig {
  if (typeof config.connectionString !== 'string') throw invalid('connectionString must be a string');
  // The string itself is never echoed: it may hold a password.
  let url: URL;
  try {
    url = new URL(config.connectionString);
  } catch {
    throw invalid('connectionString is not a valid postgres:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalid('connectionString must start with postgres:// or postgresql://');
  }
  const raw = config.searchPath ?? [];
  const searchPath = typeof raw === 'string' ? [raw] : [...raw];
  for (const schema of searchPath) {
    if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
      throw invalid('searchPath entries must be plain identifiers (letters, digits, _ and $)');
    }
  }
  const pool = config.pool ?? {};
  return Object.freeze({
    dialect: 'postgres',
    connectionString: config.connectionString,
    url,
    searchPath: Object.freeze(searchPath),
    max: positiveInteger(pool.max, 'pool.max', 10),
    idleTimeoutMillis: positiveInteger(pool.idleTimeoutMillis, 'pool.idleTimeoutMillis', 10_000),
    connectionTimeoutMillis: positiveInteger(
      pool.connectionTimeoutMillis,
      'pool.connectionTimeoutMillis',
      5000,
    ),
  });
}
