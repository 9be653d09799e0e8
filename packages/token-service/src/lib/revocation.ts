import {
  type AuditFields,
  type AuditLog,
  audit,
  encodeRevocationEvent,
  REVOCATION_TOPIC,
  type RevocationEvent,
  TesseraTypeError,
} from '@tessera/core';
import type { Kysely } from 'kysely';
import type { ServiceContext } from '../context.js';

/**
 * Revocation in two halves. The token service itself keeps a list of revoked access-token jtis in
 * SQL (every instance sees it; introspection and token exchange read it). Resource servers, which
 * verify tokens locally and never call the token service, learn of revocations from events on the
 * channel (docs/architecture.md): `{ "kind", "value", "until" }` on topic `tessera.revocation`, and keep each
 * in a deny-list until `until`, the latest `exp` of any token the event can hit. The event's type and
 * wire form are @tessera/core's (`encodeRevocationEvent`), shared with the resource servers.
 */

/** What the revocation functions use of the service context (a subset, so the CLI can call them too). */
export type RevocationContext = Pick<ServiceContext, 'db' | 'channel' | 'now' | 'options'> & {
  /** Where the audit line of each revocation goes (the service's logger; none from the CLI). */
  readonly log?: AuditLog;
};

interface RevokedTokensTable {
  jti: string;
  /** Epoch ms: the token's exp. */
  until: number | string;
  revoked_at: number | string;
}

type RevocationDatabase = { oauth_revoked_tokens: RevokedTokensTable };

function tables(ctx: Pick<ServiceContext, 'db'>): Kysely<RevocationDatabase> {
  return ctx.db.withTables<RevocationDatabase>() as unknown as Kysely<RevocationDatabase>;
}

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_REVOCATION', message);
}

/**
 * Publishes an event on `tessera.revocation`. A failing channel rejects (the caller's request fails
 * and is retried; revoking again is harmless), so a revocation is never silently unannounced.
 */
export async function publishRevocation(
  ctx: Pick<ServiceContext, 'channel'> & { readonly log?: AuditLog },
  event: RevocationEvent,
): Promise<void> {
  await ctx.channel.publish(REVOCATION_TOPIC, encodeRevocationEvent(event));
  if (ctx.log !== undefined) audit(ctx.log, 'token.revoked', revokedFields(event));
}

/** What a revocation names, as audit fields: a jti, a user, a client or a token-service session (`sid`). */
function revokedFields(event: RevocationEvent): AuditFields {
  switch (event.kind) {
    case 'jti':
      return { jti: event.value, reason: 'jti' };
    case 'sub':
      return { user: event.value, reason: 'user' };
    case 'client':
      return { client: event.value, reason: 'client' };
    default:
      return { session: event.value, reason: event.kind };
  }
}

/**
 * The `until` of an event that names a user, a session or a client: no access token issued before
 * now outlives now + the access-token lifetime (exchanged tokens never outlive their subject token).
 */
export function revocationHorizon(ctx: Pick<ServiceContext, 'now' | 'options'>): number {
  return Math.floor(ctx.now() / 1000) + ctx.options.accessTokenLifetime;
}

/**
 * Revokes one access token: its jti goes on the list until `exp` (epoch s) and a `jti` event is
 * published. Idempotent. A token already expired needs neither (it is refused anyway). Expired rows
 * are purged on the way, so the list holds only tokens that could still be presented.
 */
export async function revokeAccessToken(
  ctx: RevocationContext,
  token: { readonly jti: string; readonly exp: number },
): Promise<void> {
  if (typeof token.jti !== 'string' || token.jti.length === 0) throw misuse('jti must be a non-empty string');
  if (!Number.isSafeInteger(token.exp)) throw misuse('exp must be epoch seconds');
  const now = ctx.now();
  if (token.exp * 1000 <= now) return;
  const db = tables(ctx);
  await db
    .insertInto('oauth_revoked_tokens')
    .values({ jti: token.jti, until: token.exp * 1000, revoked_at: now })
    .onConflict((conflict) => conflict.column('jti').doNothing())
    .execute();
  await purgeExpiredRevocations(ctx);
  await publishRevocation(ctx, { kind: 'jti', value: token.jti, until: token.exp });
}

/** True when the access token with this jti was revoked (and has not expired since). */
export async function isAccessTokenRevoked(
  ctx: Pick<ServiceContext, 'db' | 'now'>,
  jti: string,
): Promise<boolean> {
  const row = await tables(ctx)
    .selectFrom('oauth_revoked_tokens')
    .select('jti')
    .where('jti', '=', jti)
    .where('until', '>', ctx.now())
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes list entries whose token has expired; returns how many. */
export async function purgeExpiredRevocations(ctx: Pick<ServiceContext, 'db' | 'now'>): Promise<number> {
  const result = await tables(ctx)
    .deleteFrom('oauth_revoked_tokens')
    .where('until', '<=', ctx.now())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** What `revokeGrant` needs of the grants repository (`GrantRepository` in src/store/grants.ts). */
export interface RevocableGrants {
  /** Marks the grant revoked; true when this call did it. */
  revokeGrant(grantId: string): Promise<boolean>;
  /** The access tokens issued under the grant that have not expired (`exp` in epoch s). */
  liveAccessTokens(grantId: string): Promise<readonly { readonly jti: string; readonly exp: number }[]>;
}

/**
 * Revokes a grant (its refresh-token family) and every access token issued under it that has not
 * expired: each jti goes on the list and gets its own `jti` event. Used by /revoke for a refresh
 * token and by the authorization_code grant when a code is redeemed twice. Returns false when the
 * grant was already revoked or does not exist; its tokens are revoked again regardless (idempotent),
 * so a retry after a failed publish still announces them.
 */
export async function revokeGrant(
  ctx: RevocationContext,
  grants: RevocableGrants,
  grantId: string,
): Promise<boolean> {
  const revoked = await grants.revokeGrant(grantId);
  for (const token of await grants.liveAccessTokens(grantId)) {
    await revokeAccessToken(ctx, token);
  }
  return revoked;
}
