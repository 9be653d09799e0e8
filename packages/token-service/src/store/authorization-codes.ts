import type { Kysely } from 'kysely';
import { hashToken, newOpaqueToken } from './grants.js';
import type { TokenServiceDatabase } from './schema.js';

export interface NewAuthorizationCode {
  readonly grantId: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string | undefined;
  readonly nonce: string | undefined;
  /** The thumbprint of the key the code must be redeemed with (`dpop_jkt`, RFC 9449 10). */
  readonly dpopJkt?: string | undefined;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface AuthorizationCodeRecord extends NewAuthorizationCode {
  readonly consumedAt: number | undefined;
}

/** What redeeming a code found: the code (if it exists) and whether this caller consumed it. */
export type Redemption =
  | { readonly outcome: 'unknown' }
  | { readonly outcome: 'consumed'; readonly code: AuthorizationCodeRecord }
  | { readonly outcome: 'reused'; readonly code: AuthorizationCodeRecord };

/** Authorization codes in SQL: 256-bit random, stored as a SHA-256 hash, used once. */
export class AuthorizationCodeRepository {
  readonly #db: Kysely<TokenServiceDatabase>;
  readonly #now: () => number;

  constructor(db: Kysely<TokenServiceDatabase>, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** Stores a new code (its hash) and returns the code itself, which is never stored. */
  async create(code: NewAuthorizationCode): Promise<string> {
    const value = newOpaqueToken();
    await this.#db
      .insertInto('oauth_authorization_codes')
      .values({
        code_hash: hashToken(value),
        grant_id: code.grantId,
        client_id: code.clientId,
        redirect_uri: code.redirectUri,
        code_challenge: code.codeChallenge ?? null,
        nonce: code.nonce ?? null,
        dpop_jkt: code.dpopJkt ?? null,
        expires_at: code.expiresAt,
        consumed_at: null,
      })
      .execute();
    return value;
  }

  /**
   * Consumes the code with a conditional UPDATE: of any number of concurrent redeemers exactly one
   * gets `consumed`; every other one, and every later one, gets `reused` (the caller then revokes
   * the grant). The checks on client, redirect_uri, expiry and PKCE are the caller's, on the record.
   */
  async redeem(code: string): Promise<Redemption> {
    const codeHash = hashToken(code);
    const result = await this.#db
      .updateTable('oauth_authorization_codes')
      .set({ consumed_at: this.#now() })
      .where('code_hash', '=', codeHash)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    const row = await this.#db
      .selectFrom('oauth_authorization_codes')
      .selectAll()
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
    if (row === undefined) return { outcome: 'unknown' };
    const record: AuthorizationCodeRecord = {
      grantId: row.grant_id,
      clientId: row.client_id,
      redirectUri: row.redirect_uri,
      codeChallenge: row.code_challenge ?? undefined,
      nonce: row.nonce ?? undefined,
      dpopJkt: row.dpop_jkt ?? undefined,
      expiresAt: Number(row.expires_at),
      consumedAt: row.consumed_at === null ? undefined : Number(row.consumed_at),
    };
    return { outcome: Number(result.numUpdatedRows) === 1 ? 'consumed' : 'reused', code: record };
  }

  /**
   * Deletes codes that expired before `before` (epoch ms) and returns how many; a consumed one is
   * kept until then for reuse detection.
   */
  async purgeExpired(before: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('oauth_authorization_codes')
      .where('expires_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
