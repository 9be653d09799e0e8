import { TesseraTypeError } from '@tessera/core';
import type { Kysely } from 'kysely';
import { REVOCATION_TOPIC, type ServiceContext } from '../context.js';

/**
 * Revocation in two halves. The token service itself keeps a list of revoked access-token jtis in
 * SQL (every instance sees it; introspection and token exchange read it). Resource servers, which
 * verify tokens locally and never call the token service, learn of revocations from events on the
 * channel (DESIGN.md): `{ "kind", "value", "until" }` on topic `tessera.revocation`, and keep each
 * in a deny-list until `until`, the latest `exp` of any token the event can hit.
 */

/** What an event names: one token (`jti`), a user (`sub`), a browser session (`sid`), a client. */
export type RevocationKind = 'jti' | 'sub' | 'sid' | 'client';

export const revocationKinds: readonly RevocationKind[] = Object.freeze(['jti', 'sub', 'sid', 'client']);

/** A revocation event exactly as it travels on the channel (DESIGN.md). */
export interface RevocationEvent {
  readonly kind: RevocationKind;
  readonly value: string;
  /** Epoch seconds: a deny-list entry for this event may be dropped after it. */
  readonly until: number;
}

/** What the revocation functions use of the service context (a subset, so the CLI can call them too). */
export type RevocationContext = Pick<ServiceContext, 'db' | 'channel' | 'now' | 'options'>;

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

function checkEvent(event: RevocationEvent): RevocationEvent {
  if (!revocationKinds.includes(event.kind)) throw misuse('kind must be jti, sub, sid or client');
  if (typeof event.value !== 'string' || event.value.length === 0)
    throw misuse('value must be a non-empty string');
  if (!Number.isSafeInteger(event.until) || event.until <= 0) throw misuse('until must be epoch seconds');
  return event;
}

/** The event's wire form: exactly the three fields, in DESIGN.md's order. */
export function encodeRevocationEvent(event: RevocationEvent): string {
  const { kind, value, until } = checkEvent(event);
  return JSON.stringify({ kind, value, until });
}

/** Reads a message from the channel; undefined for anything that is not a well-formed event. */
export function parseRevocationEvent(message: string): RevocationEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { kind, value, until } = parsed as Record<string, unknown>;
  if (typeof kind !== 'string' || !revocationKinds.includes(kind as RevocationKind)) return undefined;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (typeof until !== 'number' || !Number.isSafeInteger(until) || until <= 0) return undefined;
  return Object.freeze({ kind: kind as RevocationKind, value, until });
}

/**
 * Publishes an event on `tessera.revocation`. A failing channel rejects (the caller's request fails
 * and is retried; revoking again is harmless), so a revocation is never silently unannounced.
 */
export async function publishRevocation(
  ctx: Pick<ServiceContext, 'channel'>,
  event: RevocationEvent,
): Promise<void> {
  await ctx.channel.publish(REVOCATION_TOPIC, encodeRevocationEvent(event));
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
