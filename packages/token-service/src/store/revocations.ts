import type { Kysely, Transaction } from 'kysely';
import type { LiveAccessToken } from './grants.js';
import type { TokenServiceDatabase } from './schema.js';

/** The grants one revocation pass ends: one by id, every live one of a browser session, or of a user. */
export type GrantSelector =
  | { readonly grantId: string }
  | { readonly sid: string }
  | { readonly userId: string };

/** What a pass over grants did. */
export interface GrantRevocation {
  /** The grants this pass marked revoked (a grant revoked before is not among them). */
  readonly grantIds: readonly string[];
  /** The live access tokens of those grants, now on the list: each is still to be announced. */
  readonly tokens: readonly LiveAccessToken[];
}

const num = (value: number | string): number => Number(value);

/**
 * The revocation list of access-token jtis (kept until each token's `exp`, then purged) and the
 * revocation of grants. A grant is revoked in one pass: one transaction marks the selected grants
 * revoked and puts every live access token of theirs on the list, with a fixed number of
 * statements however many grants and tokens it covers.
 */
export class RevocationRepository {
  readonly #db: Kysely<TokenServiceDatabase>;
  readonly #now: () => number;

  constructor(db: Kysely<TokenServiceDatabase>, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** Puts one access token on the list until its `exp` (epoch s); a jti already there stays as it is. */
  async add(token: LiveAccessToken): Promise<void> {
    await this.#db
      .insertInto('oauth_revoked_tokens')
      .values({ jti: token.jti, until: token.exp * 1000, revoked_at: this.#now() })
      .onConflict((conflict) => conflict.column('jti').doNothing())
      .execute();
  }

  /** True when the access token with this jti is on the list and has not expired since. */
  async has(jti: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('oauth_revoked_tokens')
      .select('jti')
      .where('jti', '=', jti)
      .where('until', '>', this.#now())
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes list entries whose token has expired; returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.#db
      .deleteFrom('oauth_revoked_tokens')
      .where('until', '<=', this.#now())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Revokes the selected live grants and lists their live access tokens, in one transaction: one
   * UPDATE of the grants, one SELECT of their tokens, one INSERT of those onto the list. A grant
   * named by id has its tokens listed and returned even when it was revoked before (idempotent),
   * so a retry after a failed announcement announces them again.
   */
  revokeGrants(selector: GrantSelector): Promise<GrantRevocation> {
    const now = this.#now();
    return this.#db.transaction().execute(async (trx) => {
      const grantIds = await markRevoked(trx, selector, now);
      const ofTokens = 'grantId' in selector ? [selector.grantId] : grantIds;
      if (ofTokens.length === 0) return { grantIds, tokens: [] };
      const nowS = Math.floor(now / 1000);
      const rows = await trx
        .selectFrom('oauth_grant_access_tokens')
        .select(['jti', 'expires_at'])
        .where('grant_id', 'in', ofTokens)
        .where('expires_at', '>', nowS)
        .execute();
      const tokens = rows.map((row) => ({ jti: row.jti, exp: num(row.expires_at) }));
      if (tokens.length > 0) {
        await trx
          .insertInto('oauth_revoked_tokens')
          .columns(['jti', 'until', 'revoked_at'])
          .expression((eb) =>
            eb
              .selectFrom('oauth_grant_access_tokens')
              .select((inner) => [
                'jti',
                inner('expires_at', '*', 1000).as('until'),
                inner.val(now).as('revoked_at'),
              ])
              .where('grant_id', 'in', ofTokens)
              .where('expires_at', '>', nowS),
          )
          .onConflict((conflict) => conflict.column('jti').doNothing())
          .execute();
      }
      return { grantIds, tokens };
    });
  }
}

/** The one UPDATE of a pass; returns the ids of the grants it revoked. */
async function markRevoked(
  trx: Transaction<TokenServiceDatabase>,
  selector: GrantSelector,
  now: number,
): Promise<string[]> {
  const [column, value] =
    'grantId' in selector
      ? (['id', selector.grantId] as const)
      : 'sid' in selector
        ? (['sid', selector.sid] as const)
        : (['user_id', selector.userId] as const);
  const rows = await trx
    .updateTable('oauth_grants')
    .set({ revoked_at: now })
    .where(column, '=', value)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}
