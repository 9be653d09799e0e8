import { hash, timingSafeEqual } from 'node:crypto';
import { BoundedCache, type SigningAlgorithm } from '@tessera/core';
import type { JSONWebKeySet } from 'jose';
import type { Kysely, Selectable } from 'kysely';
import { TokenServiceError } from '../errors.js';
import { hashClientSecret, verifyClientSecret } from '../lib/secrets.js';
import type {
  Client,
  ClientAssertionAlgorithm,
  GrantType,
  TlsClientAuthField,
  TokenEndpointAuthMethod,
} from './client.js';
import {
  type ClientRegistration,
  type ValidRegistration,
  validateRegistration,
} from './client-registration.js';
import type { ClientsTable, TokenServiceDatabase } from './schema.js';

export interface ClientRepositoryOptions {
  readonly db: Kysely<TokenServiceDatabase>;
  /** HMAC key for client secrets (derived from the service secret). */
  readonly secretKey: Buffer;
  /** How long a client read from the database is reused, in ms; 0 disables. */
  readonly cacheTtlMs?: number;
  readonly now?: () => number;
  /** `tessera dev`: no warning for short secrets. */
  readonly dev?: boolean;
  /** Receives operator warnings (a short seeded secret). */
  readonly warn?: (message: string) => void;
  /**
   * Internal, for tests: clients read per query by the background fill (default 1,000), so a fill
   * of several pages needs no thousands of clients. The service never sets it.
   */
  readonly fillPageSize?: number;
}

/** A lookup's answer, a client or none (unknown ids are cached too). */
interface CacheEntry {
  readonly client: Client | undefined;
}

/**
 * A secret already checked against a client's stored HMAC: the SHA-256 of what was presented (never
 * the secret itself) and the stored HMAC it matched, so a secret that changed matches no more.
 */
interface VerifiedSecret {
  readonly digest: Buffer;
  readonly secretHash: string;
}

/** The fewest clients kept, and the most unknown ids remembered. */
const MIN_CACHE_ENTRIES = 10_000;
/**
 * The most clients kept however many are registered: a cached client is about 1-2 KiB, so this
 * bounds the cache near 250-500 MiB; past it, the least recently used are read from SQL again.
 */
const MAX_CACHE_ENTRIES = 250_000;
const MIN_SECRET_LENGTH = 32;

/** Clients read per query when the cache is filled at the first lookup. */
const FILL_PAGE_SIZE = 1000;

/** How long the record of which client a generation wrote is kept (an instance further behind reloads all). */
const CHANGES_KEPT_MS = 24 * 60 * 60 * 1000;

/** Tells every instance's cache that `clientId` changed (migration 013); in the write's transaction. */
async function raiseGeneration(
  db: Kysely<TokenServiceDatabase>,
  clientId: string,
  now: number,
): Promise<void> {
  // The row lock taken here also orders concurrent writers' generations (PostgreSQL).
  const raised = await db
    .updateTable('oauth_client_generation')
    .set((eb) => ({ generation: eb('generation', '+', 1) }))
    .where('id', '=', 1)
    .returning('generation')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('oauth_client_changes')
    .values({ generation: raised.generation, client_id: clientId, changed_at: now })
    .execute();
  await db
    .deleteFrom('oauth_client_changes')
    .where('changed_at', '<', now - CHANGES_KEPT_MS)
    .execute();
}

function fromRow(row: Selectable<ClientsTable>): Client {
  return Object.freeze({
    client_id: row.client_id,
    client_name: row.name ?? undefined,
    secret_hash: row.secret_hash ?? undefined,
    redirect_uris: Object.freeze(JSON.parse(row.redirect_uris) as string[]),
    post_logout_redirect_uris: Object.freeze(JSON.parse(row.post_logout_redirect_uris) as string[]),
    grant_types: Object.freeze(JSON.parse(row.grant_types) as GrantType[]),
    scopes: Object.freeze(JSON.parse(row.scopes) as string[]),
    audiences: Object.freeze(JSON.parse(row.audiences) as string[]),
    first_party: Number(row.first_party) === 1,
    token_endpoint_auth_method: row.token_endpoint_auth_method as TokenEndpointAuthMethod,
    token_endpoint_auth_signing_alg: (row.token_endpoint_auth_signing_alg ?? undefined) as
      | ClientAssertionAlgorithm
      | undefined,
    jwks: row.jwks === null ? undefined : (JSON.parse(row.jwks) as JSONWebKeySet),
    id_token_signed_response_alg: row.id_token_signed_response_alg as SigningAlgorithm,
    backchannel_logout_uri: row.backchannel_logout_uri ?? undefined,
    backchannel_logout_session_required: Number(row.backchannel_logout_session_required) === 1,
    allowed_origins: Object.freeze(JSON.parse(row.allowed_origins) as string[]),
    dpop_bound_access_tokens: Number(row.dpop_bound_access_tokens) === 1,
    tls_client_auth_subject:
      row.tls_client_auth_field === null || row.tls_client_auth_value === null
        ? undefined
        : Object.freeze({
            field: row.tls_client_auth_field as TlsClientAuthField,
            value: row.tls_client_auth_value,
          }),
    tls_client_certificate_bound_access_tokens: Number(row.tls_client_certificate_bound_access_tokens) === 1,
    dpop_bound_subject_tokens: Number(row.dpop_bound_subject_tokens) === 1,
    created_at: Number(row.created_at),
  });
}

/** Room for every registered client (a quarter more for those registered later), within the bounds. */
function cacheSizeFor(clientCount: number): number {
  return Math.min(MAX_CACHE_ENTRIES, Math.max(MIN_CACHE_ENTRIES, Math.ceil(clientCount * 1.25)));
}

/**
 * Registered clients in SQL, with an in-memory cache so that /token does not query the database
 * on every request. The cache holds every client it has read (up to `MAX_CACHE_ENTRIES`, sized
 * from the number registered) until the clients' generation (migration 013) changes: every write
 * here raises it in the same transaction, and the cache reads it at most once per `cacheTtlMs`.
 * So writes through this repository are seen here at once, a write by another process (the CLI,
 * another instance) within `cacheTtlMs`, as before; and a client calling less often than every
 * `cacheTtlMs` is no longer read from SQL each time (README, "Scale").
 */
export class ClientRepository {
  readonly #db: Kysely<TokenServiceDatabase>;
  readonly #secretKey: Buffer;
  readonly #cacheTtlMs: number;
  readonly #now: () => number;
  readonly #dev: boolean;
  readonly #warn: (message: string) => void;
  readonly #fillPageSize: number;
  #cache: BoundedCache<CacheEntry>;
  #verified: BoundedCache<VerifiedSecret>;
  /** Ids with no client: apart, so a flood of made-up ids cannot push real clients out. */
  readonly #unknown: BoundedCache<CacheEntry>;
  /** The generation the cached entries are up to date with; undefined before the first read. */
  #generation: number | undefined;
  /** When the generation is to be read again (this.#now() units). */
  #checkAt = Number.NEGATIVE_INFINITY;
  /** Raised by every write through this repository: a row read before one is not cached. */
  #writes = 0;
  /** The read under way, shared by every lookup that comes while it runs. */
  #checking: Promise<void> | undefined;
  #origins: { readonly origins: ReadonlySet<string>; readonly expiresAt: number } | undefined;
  /** Set by close(): no fill starts, and one under way reads no further page. */
  #closed = false;
  /** The latest background fill (settles, never rejects), for close() to wait for. */
  #fill: Promise<void> | undefined;

  constructor(options: ClientRepositoryOptions) {
    this.#db = options.db;
    this.#secretKey = options.secretKey;
    this.#cacheTtlMs = options.cacheTtlMs ?? 5000;
    this.#now = options.now ?? Date.now;
    this.#cache = new BoundedCache({ max: MIN_CACHE_ENTRIES, now: this.#now });
    this.#verified = new BoundedCache({ max: MIN_CACHE_ENTRIES, now: this.#now });
    this.#unknown = new BoundedCache({ max: MIN_CACHE_ENTRIES, now: this.#now });
    this.#dev = options.dev ?? false;
    this.#warn = options.warn ?? (() => {});
    this.#fillPageSize = options.fillPageSize ?? FILL_PAGE_SIZE;
  }

  /** The client, or undefined when none has this id. */
  async find(clientId: string): Promise<Client | undefined> {
    if (this.#cacheTtlMs > 0) {
      const now = this.#now();
      // Also when the clock stepped back past the last read: the bound holds for either clock.
      if (now >= this.#checkAt || now < this.#checkAt - this.#cacheTtlMs) await this.#checkGeneration();
      const cached = this.#cache.get(clientId) ?? this.#unknown.get(clientId);
      if (cached !== undefined) return cached.client;
    }
    const now = this.#now();
    const generation = this.#generation;
    const writes = this.#writes;
    const row = await this.#db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    const client = row === undefined ? undefined : fromRow(row);
    // Kept only if no newer generation was seen, and no write made here, while the row was read:
    // that read may have been older than the write.
    if (this.#cacheTtlMs > 0 && generation === this.#generation && writes === this.#writes) {
      if (client !== undefined) this.#cache.set(clientId, { client });
      // Unknown ids are remembered too, so a flood of made-up ids does not become a flood of
      // queries; for `cacheTtlMs` only, and in a bounded cache of their own.
      else this.#unknown.set(clientId, { client }, now + this.#cacheTtlMs);
    }
    return client;
  }

  /**
   * Reads the clients' generation (one query, shared by the lookups that come meanwhile). When it
   * moved, forgets the clients written since (their verified secrets with them); when those are
   * not all on record any more (more than a day behind), or on the first read, starts afresh:
   * sizes the cache from the number of clients registered and, when they all fit, reads them all,
   * so that a first request of each does not pay a query.
   */
  #checkGeneration(): Promise<void> {
    this.#checking ??= (async () => {
      const now = this.#now();
      try {
        const row = await this.#db
          .selectFrom('oauth_client_generation')
          .select('generation')
          .where('id', '=', 1)
          .executeTakeFirst();
        const generation = Number(row?.generation ?? 0);
        const known = this.#generation;
        if (known === undefined) await this.#reload(generation);
        else if (generation !== known) {
          const changed = await this.#db
            .selectFrom('oauth_client_changes')
            .select('client_id')
            .where('generation', '>', known)
            .where('generation', '<=', generation)
            .execute();
          if (changed.length !== generation - known) await this.#reload(generation);
          else {
            for (const { client_id } of changed) this.#forgetCached(client_id);
            this.#origins = undefined;
            this.#generation = generation;
          }
        }
        this.#checkAt = now + this.#cacheTtlMs;
      } finally {
        this.#checking = undefined;
      }
    })();
    return this.#checking;
  }

  /**
   * Drops every cached entry, as of `generation` (read before), sizes the cache from the number of
   * clients registered and, when they all fit, starts reading them all in the background.
   */
  async #reload(generation: number): Promise<void> {
    const counted = await this.#db
      .selectFrom('oauth_clients')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .executeTakeFirst();
    const count = Number(counted?.count ?? 0);
    const max = cacheSizeFor(count);
    const cache = new BoundedCache<CacheEntry>({ max, now: this.#now });
    this.#cache = cache;
    this.#verified = new BoundedCache({ max, now: this.#now });
    this.#unknown.clear();
    this.#origins = undefined;
    this.#generation = generation;
    // Not awaited: reading 100k clients takes a second or more, which no request should wait for
    // (each reads its own client meanwhile). A failure only leaves the rest to be read one by one.
    if (count > 0 && count <= max && !this.#closed) {
      // Started a microtask later, so close() finds it here before its first query is sent.
      this.#fill = Promise.resolve()
        .then(() => this.#preload(cache))
        .catch(() => {});
    }
  }

  /**
   * Reads every client into `cache`, a page at a time so the event loop is never held long. A page
   * read while the generation moved is read again (it may predate the write), and the reading
   * stops when the cache is replaced or the repository closed.
   */
  async #preload(cache: BoundedCache<CacheEntry>): Promise<void> {
    let after = '';
    while (this.#cache === cache && !this.#closed) {
      const generation = this.#generation;
      const writes = this.#writes;
      const rows = await this.#db
        .selectFrom('oauth_clients')
        .selectAll()
        .where('client_id', '>', after)
        .orderBy('client_id')
        .limit(this.#fillPageSize)
        .execute();
      if (this.#cache !== cache) return;
      if (generation !== this.#generation || writes !== this.#writes) continue;
      for (const row of rows)
        if (cache.get(row.client_id) === undefined) cache.set(row.client_id, { client: fromRow(row) });
      const last = rows.at(-1);
      if (last === undefined || rows.length < this.#fillPageSize) return;
      after = last.client_id;
      // Lets requests run between pages.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Whether `presented` is the secret of `client` (a record this repository returned), in constant
   * time. The stored form is an HMAC-SHA-256, and an HMAC object per /token request was several
   * percent of its cost; so once a secret has matched, its SHA-256 (one-shot, a fraction of the
   * HMAC's cost) is kept beside the HMAC it matched, as long as the cached client (until the
   * clients' generation changes), and a later request of the
   * same client presenting a secret of the same SHA-256 is accepted on that. A different secret is
   * checked against the HMAC as ever; a changed secret no longer matches the kept HMAC; a write
   * through this repository (a new secret, a removal) forgets the client's entry at once.
   */
  verifySecret(client: Client, presented: string): boolean {
    const stored = client.secret_hash;
    if (stored === undefined) return false;
    if (this.#cacheTtlMs <= 0) return verifyClientSecret(this.#secretKey, presented, stored);
    const digest = hash('sha256', presented, 'buffer');
    const known = this.#verified.get(client.client_id);
    if (known !== undefined && known.secretHash === stored && timingSafeEqual(known.digest, digest)) {
      return true;
    }
    if (!verifyClientSecret(this.#secretKey, presented, stored)) return false;
    this.#verified.set(client.client_id, { digest, secretHash: stored });
    return true;
  }

  /**
   * Every client's `allowed_origins` together: the origins CORS is answered for. Cached as a
   * client is (`cacheTtlMs`), so a preflight costs no query; writes here forget it at once.
   */
  async webOrigins(): Promise<ReadonlySet<string>> {
    const now = this.#now();
    if (this.#origins !== undefined && this.#origins.expiresAt > now) return this.#origins.origins;
    const rows = await this.#db
      .selectFrom('oauth_clients')
      .select('allowed_origins')
      .where('allowed_origins', '<>', '[]')
      .execute();
    const origins = new Set(rows.flatMap((row) => JSON.parse(row.allowed_origins) as string[]));
    if (this.#cacheTtlMs > 0) this.#origins = { origins, expiresAt: now + this.#cacheTtlMs };
    return origins;
  }

  async list(): Promise<Client[]> {
    const rows = await this.#db.selectFrom('oauth_clients').selectAll().orderBy('client_id').execute();
    return rows.map(fromRow);
  }

  /** Registers a new client; ERR_CLIENT_EXISTS when the id is taken. */
  async register(input: ClientRegistration): Promise<Client> {
    const valid = this.#validate(input);
    const row = this.#toRow(valid, this.#now());
    const existing = await this.#db
      .selectFrom('oauth_clients')
      .select('client_id')
      .where('client_id', '=', valid.client_id)
      .executeTakeFirst();
    if (existing !== undefined) {
      throw new TokenServiceError('ERR_CLIENT_EXISTS', `client ${valid.client_id} is already registered`);
    }
    try {
      await this.#db.transaction().execute(async (trx) => {
        await trx.insertInto('oauth_clients').values(row).execute();
        await raiseGeneration(trx, valid.client_id, this.#now());
      });
    } catch (error) {
      throw new TokenServiceError('ERR_CLIENT_EXISTS', `client ${valid.client_id} is already registered`, {
        cause: error,
      });
    }
    this.#forget(valid.client_id);
    return fromRow(row);
  }

  /** Registers or replaces a client (the seed file): applying the same input twice changes nothing. */
  async upsert(input: ClientRegistration): Promise<Client> {
    const valid = this.#validate(input);
    const row = this.#toRow(valid, this.#now());
    const { client_id: _id, created_at: _created, ...changes } = row;
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('oauth_clients')
        .values(row)
        .onConflict((conflict) => conflict.column('client_id').doUpdateSet(changes))
        .execute();
      await raiseGeneration(trx, valid.client_id, this.#now());
    });
    this.#forget(valid.client_id);
    const stored = await this.find(valid.client_id);
    if (stored === undefined)
      throw new TokenServiceError('ERR_CLIENT_NOT_FOUND', `client ${valid.client_id} vanished`);
    return stored;
  }

  /** Removes a client; true when it existed. */
  async remove(clientId: string): Promise<boolean> {
    const result = await this.#db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom('oauth_clients')
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      await raiseGeneration(trx, clientId, this.#now());
      return deleted;
    });
    this.#forget(clientId);
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Ends the background fill (a page being read is the last) and resolves once that page is in, so
   * nothing reads the database, which is the caller's and may outlive the service, after the
   * service closed; and starts no other. Lookups still answer, each client read from SQL until
   * cached.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#fill;
  }

  /** Forgets cached clients and their verified secrets (all, or one). */
  invalidate(clientId?: string): void {
    if (clientId !== undefined) {
      this.#forget(clientId);
      return;
    }
    this.#origins = undefined;
    this.#cache.clear();
    this.#verified.clear();
    this.#unknown.clear();
    // The next lookup reads the generation and the client count again (rows written around this
    // repository, as a bulk import does, are then counted in the cache's size).
    this.#generation = undefined;
    this.#checkAt = Number.NEGATIVE_INFINITY;
  }

  #forget(clientId: string): void {
    this.#writes++;
    this.#origins = undefined;
    this.#forgetCached(clientId);
  }

  #forgetCached(clientId: string): void {
    this.#cache.delete(clientId);
    this.#verified.delete(clientId);
    this.#unknown.delete(clientId);
  }

  #validate(input: ClientRegistration): ValidRegistration {
    const valid = validateRegistration(input);
    if (!this.#dev && valid.client_secret !== undefined && valid.client_secret.length < MIN_SECRET_LENGTH) {
      this.#warn(
        `client ${valid.client_id}: its secret is shorter than ${MIN_SECRET_LENGTH} characters; use a long random secret outside development`,
      );
    }
    return valid;
  }

  #toRow(valid: ValidRegistration, now: number): ClientsTable {
    return {
      client_id: valid.client_id,
      secret_hash:
        valid.client_secret === undefined ? null : hashClientSecret(this.#secretKey, valid.client_secret),
      name: valid.client_name ?? null,
      redirect_uris: JSON.stringify(valid.redirect_uris),
      post_logout_redirect_uris: JSON.stringify(valid.post_logout_redirect_uris),
      grant_types: JSON.stringify(valid.grant_types),
      scopes: JSON.stringify(valid.scopes),
      audiences: JSON.stringify(valid.audiences),
      first_party: valid.first_party ? 1 : 0,
      token_endpoint_auth_method: valid.token_endpoint_auth_method,
      token_endpoint_auth_signing_alg: valid.token_endpoint_auth_signing_alg ?? null,
      jwks: valid.jwks === undefined ? null : JSON.stringify(valid.jwks),
      id_token_signed_response_alg: valid.id_token_signed_response_alg,
      created_at: now,
      backchannel_logout_uri: valid.backchannel_logout_uri ?? null,
      backchannel_logout_session_required: valid.backchannel_logout_session_required ? 1 : 0,
      allowed_origins: JSON.stringify(valid.allowed_origins),
      dpop_bound_access_tokens: valid.dpop_bound_access_tokens ? 1 : 0,
      tls_client_auth_field: valid.tls_client_auth_subject?.field ?? null,
      tls_client_auth_value: valid.tls_client_auth_subject?.value ?? null,
      tls_client_certificate_bound_access_tokens: valid.tls_client_certificate_bound_access_tokens ? 1 : 0,
      dpop_bound_subject_tokens: valid.dpop_bound_subject_tokens ? 1 : 0,
    };
  }
}
