import { isTesseraError, TesseraTypeError } from '@tessera/core';
import type Database from 'better-sqlite3';
import { parseCounter } from '../lib/counter.js';
import { sqliteDriver } from '../lib/drivers.js';
import { unavailable, wrongKind } from '../lib/errors.js';
import { checkInterval } from '../lib/validate.js';
import { CheckedKeyValueStore, type Swap } from './base.js';
import type { Clock, KeyValueStoreOptions } from './types.js';

export interface SqliteStoreOptions extends KeyValueStoreOptions {
  /** The database file (created when missing). Give this or `database`. */
  readonly path?: string;
  /** An open better-sqlite3 database to use instead; the store does not close it. */
  readonly database?: Database.Database;
  /** Table holding the entries, created when missing. Default `tessera_kv`. */
  readonly table?: string;
  /** Milliseconds since the epoch; inject to move time in tests. Default `Date.now`. */
  readonly now?: Clock;
  /** How often expired rows are deleted. Default 60 000 ms. */
  readonly purgeIntervalMs?: number;
  /** How long a write waits for another process's lock before failing. Default 2 000 ms. */
  readonly busyTimeoutMs?: number;
}

const STRING = 0;
const SET = 1;

interface Row {
  kind: number;
  value: string;
  expiresAt: number | null;
}

/**
 * A store in one SQLite file (WAL mode), shareable by the processes of one machine. Entries live
 * in one table with an `expires_at` column that every read checks. Read-modify-write operations
 * (`take`, `compareAndSet`, `increment`, set updates) run in `BEGIN IMMEDIATE` transactions, which
 * take the write lock first, so they are atomic across processes as well as within one (where
 * better-sqlite3 is synchronous anyway). Expired rows are also deleted periodically.
 */
export class SqliteStore extends CheckedKeyValueStore {
  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #now: Clock;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #transactions: ReturnType<SqliteStore['defineTransactions']>;
  #purger: NodeJS.Timeout | undefined;
  /** Every call settles at once: better-sqlite3 is synchronous, so no timer could fire earlier. */
  readonly settlesWithinMs = 0;

  constructor(options: SqliteStoreOptions) {
    super('SqliteStore', options.prefix);
    this.#now = options.now ?? Date.now;
    const table = options.table ?? 'tessera_kv';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'table must be a plain SQL identifier');
    }
    const purgeIntervalMs = checkInterval(options.purgeIntervalMs, 'purgeIntervalMs', 60_000);
    const busyTimeoutMs = checkInterval(options.busyTimeoutMs, 'busyTimeoutMs', 2_000);
    if ((options.path === undefined) === (options.database === undefined)) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'give exactly one of path and database');
    }
    this.#ownsDb = options.database === undefined;
    try {
      this.#db = options.database ?? new (sqliteDriver())(options.path, { timeout: busyTimeoutMs });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#statements = prepare(this.#db, table);
    } catch (error) {
      throw unavailable('SqliteStore: cannot open the database', error);
    }
    this.#transactions = this.defineTransactions();
    this.#purger = setInterval(() => this.#purge(), purgeIntervalMs);
    this.#purger.unref();
  }

  protected getAt(k: string): string | null {
    return this.#string('get', k)?.value ?? null;
  }

  protected setAt(k: string, value: string, ttlMs: number | undefined): void {
    this.#statements.upsert.run(k, STRING, value, this.#expiry(ttlMs));
  }

  protected deleteAt(k: string): boolean {
    const row = this.#statements.remove.get(k) as { expiresAt: number | null } | undefined;
    return row !== undefined && this.#isLive(row.expiresAt);
  }

  protected takeAt(k: string): string | null {
    return this.#transactions.take.immediate(k);
  }

  protected compareAndSetAt(k: string, { expected, next, ttlMs }: Swap): boolean {
    return this.#transactions.compareAndSet.immediate(k, expected, next, ttlMs);
  }

  protected incrementAt(k: string, by: number, ttlMs: number | undefined): number {
    return this.#transactions.increment.immediate(k, by, ttlMs);
  }

  protected setAddAt(k: string, members: readonly string[], ttlMs: number | undefined): number {
    return members.length === 0 ? 0 : this.#transactions.setAdd.immediate(k, members, ttlMs);
  }

  protected setRemoveAt(k: string, members: readonly string[]): number {
    return this.#transactions.setRemove.immediate(k, members);
  }

  protected setMembersAt(k: string): string[] {
    return [...this.#members('setMembers', k)];
  }

  protected setHasAt(k: string, member: string): boolean {
    return this.#members('setHas', k).has(member);
  }

  protected setSizeAt(k: string): number {
    return this.#members('setSize', k).size;
  }

  protected ttlAt(k: string): number | null {
    const row = this.#read(k);
    if (row === undefined) return null;
    return row.expiresAt === null ? Number.POSITIVE_INFINITY : row.expiresAt - this.#now();
  }

  protected expireAt(k: string, ttlMs: number | undefined): boolean {
    return this.#transactions.expire.immediate(k, ttlMs);
  }

  async close(): Promise<void> {
    if (this.#purger === undefined) return;
    clearInterval(this.#purger);
    this.#purger = undefined;
    if (this.#ownsDb) this.#db.close();
  }

  /** The transactions, defined once (better-sqlite3 wraps each function in BEGIN/COMMIT). */
  private defineTransactions() {
    const s = this.#statements;
    return {
      take: this.#db.transaction((k: string): string | null => {
        const row = this.#string('take', k);
        if (row === undefined) return null;
        s.remove.run(k);
        return row.value;
      }),
      compareAndSet: this.#db.transaction(
        (k: string, expected: string | null, next: string, ttlMs: number | undefined): boolean => {
          const row = this.#read(k);
          if (expected === null) {
            if (row !== undefined) return false;
          } else {
            if (row?.kind === SET) throw wrongKind('compareAndSet', 'string');
            if (row === undefined || row.value !== expected) return false;
          }
          s.upsert.run(k, STRING, next, this.#expiry(ttlMs));
          return true;
        },
      ),
      increment: this.#db.transaction((k: string, by: number, ttlMs: number | undefined): number => {
        const row = this.#read(k);
        if (row === undefined) {
          s.upsert.run(k, STRING, String(by), this.#expiry(ttlMs));
          return by;
        }
        const current = row.kind === STRING ? parseCounter(row.value) : undefined;
        const next = current === undefined ? undefined : current + by;
        if (next === undefined || !Number.isSafeInteger(next)) throw wrongKind('increment', 'integer');
        s.updateValue.run(String(next), k);
        return next;
      }),
      setAdd: this.#db.transaction((k: string, members: readonly string[], ttlMs: number | undefined) => {
        const row = this.#read(k);
        if (row?.kind === STRING) throw wrongKind('setAdd', 'set');
        const set = row === undefined ? new Set<string>() : decodeSet(row.value);
        const before = set.size;
        for (const member of members) set.add(member);
        const expiresAt = ttlMs === undefined ? (row?.expiresAt ?? null) : this.#expiry(ttlMs);
        s.upsert.run(k, SET, JSON.stringify([...set]), expiresAt);
        return set.size - before;
      }),
      setRemove: this.#db.transaction((k: string, members: readonly string[]): number => {
        const set = this.#members('setRemove', k);
        let removed = 0;
        for (const member of members) if (set.delete(member)) removed += 1;
        if (removed === 0) return 0;
        if (set.size === 0) s.remove.run(k);
        else s.updateValue.run(JSON.stringify([...set]), k);
        return removed;
      }),
      expire: this.#db.transaction((k: string, ttlMs: number | undefined): boolean => {
        if (this.#read(k) === undefined) return false;
        s.updateExpiry.run(this.#expiry(ttlMs), k);
        return true;
      }),
    };
  }

  protected get isClosed(): boolean {
    return this.#purger === undefined;
  }

  /** Runs one operation; anything SQLite throws becomes a StorageError. */
  protected async call<T>(operation: string, body: () => T | Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (isTesseraError(error) || error instanceof TesseraTypeError) throw error;
      throw unavailable(`SqliteStore.${operation}`, error);
    }
  }

  #read(fullKey: string): Row | undefined {
    const row = this.#statements.select.get(fullKey) as Row | undefined;
    return row !== undefined && this.#isLive(row.expiresAt) ? row : undefined;
  }

  #string(operation: string, fullKey: string): Row | undefined {
    const row = this.#read(fullKey);
    if (row !== undefined && row.kind !== STRING) throw wrongKind(operation, 'string');
    return row;
  }

  #members(operation: string, fullKey: string): Set<string> {
    const row = this.#read(fullKey);
    if (row === undefined) return new Set();
    if (row.kind !== SET) throw wrongKind(operation, 'set');
    return decodeSet(row.value);
  }

  #isLive(expiresAt: number | null): boolean {
    return expiresAt === null || expiresAt > this.#now();
  }

  #expiry(ttlMs: number | undefined): number | null {
    return ttlMs === undefined ? null : this.#now() + ttlMs;
  }

  #purge(): void {
    try {
      this.#statements.purge.run(this.#now());
    } catch {
      // A busy or closed database: expired rows are invisible anyway; the next purge retries.
    }
  }
}

function prepare(db: Database.Database, table: string) {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${table} (
      key TEXT PRIMARY KEY NOT NULL,
      kind INTEGER NOT NULL,
      value TEXT NOT NULL,
      expires_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at) WHERE expires_at IS NOT NULL;
  `);
  return {
    select: db.prepare(`SELECT kind, value, expires_at AS expiresAt FROM ${table} WHERE key = ?`),
    upsert: db.prepare(
      `INSERT INTO ${table} (key, kind, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value,
       expires_at = excluded.expires_at`,
    ),
    remove: db.prepare(`DELETE FROM ${table} WHERE key = ? RETURNING expires_at AS expiresAt`),
    updateValue: db.prepare(`UPDATE ${table} SET value = ? WHERE key = ?`),
    updateExpiry: db.prepare(`UPDATE ${table} SET expires_at = ? WHERE key = ?`),
    purge: db.prepare(`DELETE FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= ?`),
  };
}

function decodeSet(value: string): Set<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((member) => typeof member === 'string')) {
    throw wrongKind('set', 'set');
  }
  return new Set(parsed);
}
