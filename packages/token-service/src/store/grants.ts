import { randomBytes } from 'node:crypto';
import { sha256Base64url } from '@tessera/core';
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { GrantsTable, RefreshTokensTable } from './grant-schema.js';
import type { TokenServiceDatabase } from './schema.js';

/** What a new grant is created with. */
export interface NewGrant {
  readonly userId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  readonly sid: string | undefined;
  /** Epoch seconds. */
  readonly authTime: number;
  /** Epoch ms: the refresh family's absolute end. */
  readonly expiresAt: number;
}

/** One user's authorization of one client; its id is also the refresh-token family id. */
export interface Grant extends NewGrant {
  readonly id: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms, or undefined while the grant is live. */
  readonly revokedAt: number | undefined;
}

/** What a refresh token is bound to: a public client's DPoP key (RFC 9449 5) or certificate (RFC 8705 4). */
export interface RefreshBinding {
  readonly dpopJkt?: string;
  readonly x5tS256?: string;
}

/** What a refresh-token lookup finds: the token's own state and its grant. */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly grant: Grant;
  readonly expiresAt: number;
  readonly rotatedAt: number | undefined;
  /** The successor it was rotated into, sealed (`sealSuccessor`), when a reuse grace applied. */
  readonly sealedSuccessor: string | undefined;
  /** The DPoP key or certificate it is bound to (a public client's, RFC 9449 5, RFC 8705 4), if any. */
  readonly binding: RefreshBinding;
}

/** An access token issued under a grant that has not expired yet (what a grant revocation must announce). */
export interface LiveAccessToken {
  readonly jti: string;
  /** Epoch seconds. */
  readonly exp: number;
}

/** Who holds a live grant of a session or a user: one entry per client, user and sid. */
export interface GrantHolder {
  readonly clientId: string;
  readonly userId: string;
  readonly sid: string | undefined;
}

/** SHA-256, base64url: how codes and refresh tokens are stored (256-bit random values need no slow hash). */
export function hashToken(token: string): string {
  return sha256Base64url(token);
}

/** A new opaque 256-bit token (refresh token, authorization code). */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

const num = (value: number | string): number => Number(value);

/** A new refresh token's row: live for `idleLifetimeMs`, not rotated, bound to a DPoP key, a certificate or nothing. */
function refreshTokenRow(
  token: string,
  grantId: string,
  now: number,
  idleLifetimeMs: number,
  binding: RefreshBinding,
): Insertable<RefreshTokensTable> {
  return {
    token_hash: hashToken(token),
    grant_id: grantId,
    created_at: now,
    expires_at: now + idleLifetimeMs,
    rotated_at: null,
    successor: null,
    dpop_jkt: binding.dpopJkt ?? null,
    x5t_s256: binding.x5tS256 ?? null,
  };
}

function fromRow(row: Selectable<GrantsTable>): Grant {
  return Object.freeze({
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    scopes: Object.freeze(JSON.parse(row.scopes) as string[]),
    audiences: Object.freeze(JSON.parse(row.audiences) as string[]),
    sid: row.sid ?? undefined,
    authTime: num(row.auth_time),
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : num(row.revoked_at),
  });
}

/**
 * Grants, their refresh tokens (hashed, rotated by conditional UPDATE) and the jtis of the access
 * tokens issued under them, in SQL. Grants are revoked with their tokens in one pass by
 * `RevocationRepository.revokeGrants` (src/store/revocations.ts).
 */
export class GrantRepository {
  readonly #db: Kysely<TokenServiceDatabase>;
  readonly #now: () => number;

  constructor(db: Kysely<TokenServiceDatabase>, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(grant: NewGrant): Promise<Grant> {
    const row = {
      id: randomBytes(16).toString('base64url'),
      user_id: grant.userId,
      client_id: grant.clientId,
      scopes: JSON.stringify(grant.scopes),
      audiences: JSON.stringify(grant.audiences),
      sid: grant.sid ?? null,
      auth_time: grant.authTime,
      created_at: this.#now(),
      expires_at: grant.expiresAt,
      revoked_at: null,
    };
    await this.#db.insertInto('oauth_grants').values(row).execute();
    return fromRow(row);
  }

  async find(id: string): Promise<Grant | undefined> {
    const row = await this.#db.selectFrom('oauth_grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  }

  /**
   * Marks the grant revoked (its refresh family dies with it). True when this call revoked it,
   * false when it was already revoked or does not exist. Only for a grant no token was issued
   * under yet (a device approval that lost its race): every other revocation goes through
   * `revokeGrants` (src/lib/revocation.ts), which announces the grant's tokens too.
   */
  async revokeGrant(id: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('oauth_grants')
      .set({ revoked_at: this.#now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * The distinct (client, user, sid) of the live grants of a browser session or of a user: the
   * clients a back-channel logout goes to. Read it BEFORE revoking them.
   */
  async liveGrantHolders(by: { readonly sid: string } | { readonly userId: string }): Promise<GrantHolder[]> {
    const [column, value] = 'sid' in by ? (['sid', by.sid] as const) : (['user_id', by.userId] as const);
    const rows = await this.#db
      .selectFrom('oauth_grants')
      .select(['client_id', 'user_id', 'sid'])
      .distinct()
      .where(column, '=', value)
      .where('revoked_at', 'is', null)
      .orderBy('client_id')
      .execute();
    return rows.map((row) => ({ clientId: row.client_id, userId: row.user_id, sid: row.sid ?? undefined }));
  }

  /**
   * Stores a new refresh token of the grant (hash only), with its binding; returns the token itself.
   */
  async addRefreshToken(
    grantId: string,
    idleLifetimeMs: number,
    binding: RefreshBinding = {},
  ): Promise<string> {
    const token = newOpaqueToken();
    const now = this.#now();
    await this.#db
      .insertInto('oauth_refresh_tokens')
      .values(refreshTokenRow(token, grantId, now, idleLifetimeMs, binding))
      .execute();
    return token;
  }

  /** The refresh token with this hash and its grant, whatever their state (rotated, expired, revoked). */
  async findByRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const token = await this.#db
      .selectFrom('oauth_refresh_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (token === undefined) return undefined;
    const grant = await this.find(token.grant_id);
    if (grant === undefined) return undefined;
    return {
      tokenHash: token.token_hash,
      grant,
      expiresAt: num(token.expires_at),
      rotatedAt: token.rotated_at === null ? undefined : num(token.rotated_at),
      sealedSuccessor: token.successor ?? undefined,
      binding: {
        ...(token.dpop_jkt === null ? {} : { dpopJkt: token.dpop_jkt }),
        ...(token.x5t_s256 === null ? {} : { x5tS256: token.x5t_s256 }),
      },
    };
  }

  /**
   * Rotates a refresh token: marks it used by conditional UPDATE and stores its successor, in one
   * transaction, so of concurrent callers (on any instance) exactly one gets the successor and
   * the others undefined; whoever then reads the rotated token finds its successor already
   * stored. `seal`, when given, seals the successor into the rotated row (the reuse grace); the
   * successor gets `binding`.
   */
  async rotate(
    tokenHash: string,
    grantId: string,
    idleLifetimeMs: number,
    seal?: (successor: string) => string,
    binding: RefreshBinding = {},
  ): Promise<string | undefined> {
    const successor = newOpaqueToken();
    const now = this.#now();
    return this.#db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('oauth_refresh_tokens')
        .set({ rotated_at: now, successor: seal === undefined ? null : seal(successor) })
        .where('token_hash', '=', tokenHash)
        .where('rotated_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return undefined;
      await trx
        .insertInto('oauth_refresh_tokens')
        .values(refreshTokenRow(successor, grantId, now, idleLifetimeMs, binding))
        .execute();
      return successor;
    });
  }

  /**
   * Remembers an access token issued under the grant until its `exp` (epoch s); true when the
   * grant is still live once the token is recorded, false when it was revoked (or is gone). A
   * revocation pass (`RevocationRepository.revokeGrants`) marks the grant and lists its tokens in
   * one transaction; a plain read of the grant here would not see that transaction until it
   * commits, so a token recorded just after the pass read the list would escape it. The no-op
   * UPDATE takes the grant's row lock instead: it waits for a pass in flight and then reads what
   * it committed, and a pass that comes after it waits for this transaction, jti included.
   */
  async recordAccessToken(grantId: string, jti: string, exp: number): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const grant = await trx
        .updateTable('oauth_grants')
        .set((eb) => ({ revoked_at: eb.ref('revoked_at') }))
        .where('id', '=', grantId)
        .returning('revoked_at')
        .executeTakeFirst();
      await trx
        .insertInto('oauth_grant_access_tokens')
        .values({ jti, grant_id: grantId, expires_at: exp })
        .execute();
      return grant !== undefined && grant.revoked_at === null;
    });
  }

  /** The grant an access token was issued under, when it was issued by a user grant. */
  async grantOfAccessToken(jti: string): Promise<Grant | undefined> {
    const row = await this.#db
      .selectFrom('oauth_grant_access_tokens')
      .select('grant_id')
      .where('jti', '=', jti)
      .executeTakeFirst();
    return row === undefined ? undefined : this.find(row.grant_id);
  }

  /**
   * Deletes expired rows: access-token jtis past exp, refresh tokens past their idle end (a rotated
   * one is kept until then for reuse detection), grants past their end. Returns how many of each.
   */
  async purgeExpired(): Promise<{ accessTokens: number; refreshTokens: number; grants: number }> {
    const now = this.#now();
    const accessTokens = await this.#db
      .deleteFrom('oauth_grant_access_tokens')
      .where('expires_at', '<', Math.floor(now / 1000))
      .executeTakeFirst();
    const refreshTokens = await this.#db
      .deleteFrom('oauth_refresh_tokens')
      .where('expires_at', '<', now)
      .executeTakeFirst();
    const grants = await this.#db.deleteFrom('oauth_grants').where('expires_at', '<', now).executeTakeFirst();
    return {
      accessTokens: Number(accessTokens.numDeletedRows),
      refreshTokens: Number(refreshTokens.numDeletedRows),
      grants: Number(grants.numDeletedRows),
    };
  }
}
