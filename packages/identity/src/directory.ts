import { randomBytes, randomUUID } from 'node:crypto';
import { TesseraTypeError } from '@tessera/core';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { parseStoredClaims, type UserClaims, validateClaims } from './claims.js';
import { DeactivationFeed, type DeactivationRecord, lateArrivalMs } from './deactivation-feed.js';
import { IdentityError, invalidCredentials } from './errors.js';
import { createPasswordHasher, type PasswordHasher } from './password.js';
import type { LoginRateLimiter } from './rate-limit.js';
import type { IdentitySchema, UsersTable } from './schema.js';
import { isPlausibleUsername, usernameKey, validateUsername } from './username.js';

/** A user as the directory hands it out: never with the password hash. */
export interface User {
  /** Random UUID v4; use it as `sub`. */
  readonly id: string;
  /** Display form (NFKC) as given at creation. */
  readonly username: string;
  readonly claims: UserClaims;
  readonly disabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Why a user can no longer sign in; every session and token of `userId` should end. */
export interface UserDeactivatedEvent {
  readonly reason: 'disabled' | 'deleted';
  readonly userId: string;
  /**
   * The user as disabled (or as it was just before this process deleted it); null when another
   * process deleted it, the row being gone.
   */
  readonly user: User | null;
  /**
   * `local`: this directory made the change, and `disable`/`delete` resolve once the listeners have.
   * `remote`: another process (`tessera users disable`, another instance) made it, and a poll of
   * this directory found it.
   */
  readonly origin: 'local' | 'remote';
}

export type UserDeactivatedListener = (event: UserDeactivatedEvent) => void | Promise<void>;

export interface UserDirectoryOptions {
  /** A database from `createDatabase` on which `migrateIdentity` has run. */
  readonly db: Kysely<unknown>;
  /** Default: argon2id with OWASP parameters (`createPasswordHasher()`). */
  readonly hasher?: PasswordHasher;
  /** Login limits; without one, `authenticate` is not rate limited (tests, offline tools). */
  readonly rateLimiter?: LoginRateLimiter;
  /** Clock for `created_at`/`updated_at`. Default `() => new Date()`. */
  readonly now?: () => Date;
  /**
   * Gets errors that must not fail a login that already succeeded (re-hashing a password with new
   * parameters). Default: a process warning.
   */
  readonly onBackgroundError?: (error: unknown) => void;
  /**
   * While any `onUserDeactivated` listener is registered, deactivations made by other processes
   * sharing the database are looked for this often, and handed to the listeners. Default 5 000 ms;
   * 0: only this directory's own disables and deletes reach its listeners.
   */
  readonly deactivationPollMs?: number;
  /**
   * How long the record of a disable or delete is kept, and so how far back a directory whose
   * listeners start now looks (a service that was down meanwhile). Default 24 hours; at least 10
   * minutes.
   */
  readonly deactivationRetentionMs?: number;
}

export interface AuthenticateInput {
  readonly username: string;
  readonly password: string;
  /** The client's address, for the per-address limit. */
  readonly address: string;
}

export interface ListOptions {
  /** Page size, 1 to 1000. Default 100. */
  readonly limit?: number;
  /** The `next` cursor of the previous page. */
  readonly after?: string;
}

export interface UserPage {
  readonly users: readonly User[];
  /** Pass as `after` to get the next page; null on the last page. */
  readonly next: string | null;
}

type UserRow = Selectable<UsersTable>;

const columns = ['id', 'username', 'claims', 'disabled', 'created_at', 'updated_at'] as const;

function toUser(row: Pick<UserRow, (typeof columns)[number]>): User {
  return Object.freeze({
    id: row.id,
    username: row.username,
    claims: parseStoredClaims(row.claims),
    disabled: Number(row.disabled) !== 0,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  });
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // PostgreSQL unique_violation; better-sqlite3's extended result code.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function notFound(): IdentityError {
  return new IdentityError('ERR_USER_NOT_FOUND', 'no such user');
}

const defaultDeactivationPollMs = 5000;
const defaultDeactivationRetentionMs = 24 * 60 * 60 * 1000;

function durationOption(name: string, value: number | undefined, fallback: number, min: number): number {
  const ms = value ?? fallback;
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new TesseraTypeError(
      'ERR_INVALID_DIRECTORY_OPTIONS',
      `${name} must be an integer of at least ${min} ms`,
    );
  }
  return ms;
}

const isPlausibleId = (id: unknown): id is string =>
  typeof id === 'string' && id.length > 0 && id.length <= 64;

const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');
const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');

/**
 * The user directory: users in SQL (SQLite or PostgreSQL), passwords hashed with argon2id, and
 * the login check shared by the token service's login form and the gateway's session-mode login.
 * Create it with `openUserDirectory`, which prepares the dummy hash that keeps a login for an
 * unknown user as slow as one for a known user.
 */
export class UserDirectory {
  readonly hasher: PasswordHasher;
  readonly #db: Kysely<IdentitySchema>;
  readonly #rateLimiter: LoginRateLimiter | undefined;
  readonly #now: () => Date;
  readonly #onBackgroundError: (error: unknown) => void;
  readonly #listeners = new Set<UserDeactivatedListener>();
  readonly #dummyHash: string;
  readonly #feed: DeactivationFeed;

  /**
   * Opens the directory: hashes a random dummy password once with the hasher's parameters, which
   * `authenticate` then checks unknown usernames against. Does not migrate: run `migrateIdentity`.
   */
  static async open(options: UserDirectoryOptions): Promise<UserDirectory> {
    const hasher = options.hasher ?? createPasswordHasher();
    const dummyHash = await hasher.hash(randomBytes(32).toString('base64url'));
    return new UserDirectory({ ...options, hasher }, dummyHash);
  }

  private constructor(options: UserDirectoryOptions, dummyHash: string) {
    if (typeof options?.db?.selectFrom !== 'function') {
      throw new TesseraTypeError('ERR_INVALID_DIRECTORY_OPTIONS', 'db must be a Kysely database');
    }
    this.#db = options.db as Kysely<IdentitySchema>;
    this.hasher = options.hasher ?? createPasswordHasher();
    this.#rateLimiter = options.rateLimiter;
    this.#now = options.now ?? (() => new Date());
    this.#onBackgroundError =
      options.onBackgroundError ??
      ((error) => process.emitWarning(`@tessera/identity: ${String(error)}`, 'TesseraIdentityWarning'));
    this.#dummyHash = dummyHash;
    const retentionMs = durationOption(
      'deactivationRetentionMs',
      options.deactivationRetentionMs,
      defaultDeactivationRetentionMs,
      2 * lateArrivalMs,
    );
    this.#feed = new DeactivationFeed({
      db: this.#db,
      now: () => this.#now().getTime(),
      intervalMs: durationOption(
        'deactivationPollMs',
        options.deactivationPollMs,
        defaultDeactivationPollMs,
        0,
      ),
      retentionMs,
      handle: (record) => this.#handleRemote(record),
      onError: this.#onBackgroundError,
    });
  }

  /** Creates a user. Rejects `ERR_USER_EXISTS`, `ERR_USERNAME_INVALID`, `ERR_PASSWORD_POLICY`, `ERR_CLAIMS_INVALID`. */
  async create(username: string, password: string, claims?: UserClaims): Promise<User> {
    const display = validateUsername(username);
    const checkedClaims = validateClaims(claims);
    const passwordHash = await this.hasher.hash(password);
    const now = this.#now().toISOString();
    const row: UserRow = {
      id: randomUUID(),
      username: display,
      username_key: usernameKey(display),
      password_hash: passwordHash,
      claims: JSON.stringify(checkedClaims),
      disabled: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#db.insertInto('users').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new IdentityError('ERR_USER_EXISTS', 'a user with this username already exists');
      }
      throw error;
    }
    return toUser(row);
  }

  async findById(id: string): Promise<User | null> {
    if (!isPlausibleId(id)) return null;
    const row = await this.#db.selectFrom('users').select(columns).where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toUser(row);
  }

  async findByUsername(username: string): Promise<User | null> {
    if (typeof username !== 'string' || !isPlausibleUsername(username)) return null;
    const row = await this.#db
      .selectFrom('users')
      .select(columns)
      .where('username_key', '=', usernameKey(username))
      .executeTakeFirst();
    return row === undefined ? null : toUser(row);
  }

  /** Users ordered by their lookup key, a page at a time. */
  async list(options: ListOptions = {}): Promise<UserPage> {
    const limit = options.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new TesseraTypeError('ERR_INVALID_LIST_OPTIONS', 'limit must be an integer from 1 to 1000');
    }
    let query = this.#db
      .selectFrom('users')
      .select([...columns, 'username_key'])
      .orderBy('username_key')
      .limit(limit + 1);
    if (options.after !== undefined) query = query.where('username_key', '>', decodeCursor(options.after));
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return Object.freeze({
      users: Object.freeze(page.map(toUser)),
      next: rows.length > limit && last !== undefined ? encodeCursor(last.username_key) : null,
    });
  }

  /** Replaces the password. Rejects `ERR_PASSWORD_POLICY` or `ERR_USER_NOT_FOUND`. */
  async setPassword(id: string, password: string): Promise<User> {
    const passwordHash = await this.hasher.hash(password);
    return this.#update(id, { password_hash: passwordHash });
  }

  /** Replaces the claims. Rejects `ERR_CLAIMS_INVALID` or `ERR_USER_NOT_FOUND`. */
  async setClaims(id: string, claims: UserClaims): Promise<User> {
    return this.#update(id, { claims: JSON.stringify(validateClaims(claims)) });
  }

  /**
   * Disables a user: every later login answers `ERR_CREDENTIALS_INVALID`. Resolves once every
   * `onUserDeactivated` listener has finished (sessions ended, tokens revoked); if one fails, the
   * user stays disabled and the call rejects with that listener's error. The disable is recorded
   * with the change, so the listeners of other processes' directories learn of it by polling (and
   * a poll of this one tries again after a failed listener).
   */
  async disable(id: string): Promise<User> {
    if (!isPlausibleId(id)) throw notFound();
    const user = await this.#deactivate(id, 'disabled', async (trx, at) => {
      const result = await trx
        .updateTable('users')
        .set({ disabled: 1, updated_at: at })
        .where('id', '=', id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw notFound();
      const disabled = await trx.selectFrom('users').select(columns).where('id', '=', id).executeTakeFirst();
      if (disabled === undefined) throw notFound();
      return toUser(disabled);
    });
    return user;
  }

  async enable(id: string): Promise<User> {
    return this.#update(id, { disabled: 0 });
  }

  /** Deletes a user for good, then tells the listeners (as `disable` does). Rejects `ERR_USER_NOT_FOUND`. */
  async delete(id: string): Promise<void> {
    const user = await this.findById(id);
    if (user === null) throw notFound();
    await this.#deactivate(id, 'deleted', async (trx) => {
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw notFound();
      return user;
    });
  }

  /**
   * Calls `listener` whenever a user is disabled or deleted, so the session manager can end that
   * user's sessions and the token service can revoke its tokens (ASVS 7.4.2): at once for this
   * directory's own changes, within `deactivationPollMs` for those of other processes. While a
   * listener is registered the directory polls (an unref'd timer); the first poll looks back
   * `deactivationRetentionMs`. Returns a function that removes the listener; with the last one
   * gone, polling stops.
   */
  onUserDeactivated(listener: UserDeactivatedListener): () => void {
    if (typeof listener !== 'function') {
      throw new TesseraTypeError('ERR_INVALID_LISTENER', 'listener must be a function');
    }
    this.#listeners.add(listener);
    this.#feed.start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#feed.stop();
    };
  }

  /**
   * Looks for deactivations other processes made, now, and hands each one not seen before to the
   * listeners; resolves to how many. Polling does this on its own; call it where "now" matters.
   */
  async pollDeactivations(): Promise<number> {
    return this.#listeners.size === 0 ? 0 : this.#feed.poll();
  }

  /**
   * Checks a login. Resolves to the user, or rejects with `ERR_CREDENTIALS_INVALID` (401, "invalid
   * username or password") whether the username is unknown, the password wrong or the user
   * disabled, after the same argon2 work in each case; or with `ERR_LOGIN_RATE_LIMITED` (429, with
   * `retryAfterSeconds`) before any hashing when the username or the address is locked.
   */
  async authenticate(input: AuthenticateInput): Promise<User> {
    const { username, password, address } = input;
    if (typeof username !== 'string' || typeof password !== 'string' || typeof address !== 'string') {
      throw invalidCredentials();
    }
    const attempt = await this.#rateLimiter?.begin({ username, address });
    const row = isPlausibleUsername(username)
      ? await this.#db
          .selectFrom('users')
          .selectAll()
          .where('username_key', '=', usernameKey(username))
          .executeTakeFirst()
      : undefined;
    // An unknown user costs one argon2 verification too, against a hash made with the same
    // parameters, so timing does not tell which usernames exist.
    const matches = await this.hasher.verify(row?.password_hash ?? this.#dummyHash, password);
    if (row === undefined || !matches || Number(row.disabled) !== 0) throw invalidCredentials();
    await attempt?.succeeded();
    if (this.hasher.needsRehash(row.password_hash)) await this.#rehash(row, password);
    return toUser(row);
  }

  async #rehash(row: UserRow, password: string): Promise<void> {
    try {
      const fresh = await this.hasher.hash(password);
      // Only if nobody changed the password meanwhile.
      await this.#db
        .updateTable('users')
        .set({ password_hash: fresh, updated_at: this.#now().toISOString() })
        .where('id', '=', row.id)
        .where('password_hash', '=', row.password_hash)
        .execute();
    } catch (error) {
      this.#onBackgroundError(error);
    }
  }

  async #update(
    id: string,
    values: Partial<Pick<UserRow, 'password_hash' | 'claims' | 'disabled'>>,
  ): Promise<User> {
    if (!isPlausibleId(id)) throw notFound();
    const result = await this.#db
      .updateTable('users')
      .set({ ...values, updated_at: this.#now().toISOString() })
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound();
    const user = await this.findById(id);
    if (user === null) throw notFound();
    return user;
  }

  /**
   * Another process's disable or delete. The user's state now decides: one enabled again since has
   * nothing to end (so a service that starts later does not sign out a user who was re-enabled and
   * signed in again); ids are never reused, so a deleted user stays deleted.
   */
  async #handleRemote(record: DeactivationRecord): Promise<boolean> {
    const user = await this.findById(record.userId);
    if (user !== null && !user.disabled) return false;
    await this.#emit({ reason: record.reason, userId: record.userId, user, origin: 'remote' });
    return true;
  }

  /**
   * Runs `change` and writes its record in one transaction, then tells this directory's listeners.
   * The record counts as handled here from the start, so a poll under way meanwhile does not hand
   * it out a second time; if a listener fails it no longer does, and the next poll tries again.
   */
  async #deactivate(
    id: string,
    reason: 'disabled' | 'deleted',
    change: (trx: Transaction<IdentitySchema>, at: string) => Promise<User>,
  ): Promise<User> {
    const now = this.#now();
    const at = now.toISOString();
    const recordId = randomUUID();
    this.#feed.markHandled(recordId, now.getTime());
    try {
      const user = await this.#db.transaction().execute(async (trx) => {
        const changed = await change(trx, at);
        await trx
          .insertInto('user_deactivations')
          .values({ id: recordId, user_id: id, reason, created_at: at })
          .execute();
        return changed;
      });
      await this.#emit({ reason, userId: id, user, origin: 'local' });
      return user;
    } catch (error) {
      this.#feed.forget(recordId, now.getTime());
      throw error;
    }
  }

  async #emit(event: UserDeactivatedEvent): Promise<void> {
    const results = await Promise.allSettled([...this.#listeners].map(async (listener) => listener(event)));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }
}

/** Same as `UserDirectory.open`. */
export function openUserDirectory(options: UserDirectoryOptions): Promise<UserDirectory> {
  return UserDirectory.open(options);
}
