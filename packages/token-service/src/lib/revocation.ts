import {
  type AuditFields,
  type AuditLog,
  audit,
  encodeRevocationEvent,
  REVOCATION_TOPIC,
  type RevocationEvent,
  TesseraTypeError,
} from '@tessera/core';
import type { ServiceContext } from '../context.js';
import type { LiveAccessToken } from '../store/grants.js';
import type { GrantSelector } from '../store/revocations.js';

/**
 * Revocation in two halves. The token service itself keeps a list of revoked access-token jtis in
 * SQL (every instance sees it; introspection and token exchange read it). Resource servers, which
 * verify tokens locally and never call the token service, learn of revocations from events on the
 * channel (docs/architecture.md): `{ "kind", "value", "until" }` on topic `tessera.revocation`, and keep each
 * in a deny-list until `until`, the latest `exp` of any token the event can hit. The event's type and
 * wire form are @tessera/core's (`encodeRevocationEvent`), shared with the resource servers. The
 * SQL is the store's (`src/store/revocations.ts`); here is what a revocation announces.
 */

/** What the revocation functions use of the service context (a subset, so the CLI can call them too). */
export type RevocationContext = Pick<ServiceContext, 'revocations' | 'channel' | 'now' | 'options'> & {
  /** Where the audit line of each revocation goes (the service's logger; none from the CLI). */
  readonly log?: AuditLog;
};

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

/**
 * Publishes one `jti` event per token, all handed to the channel at once (Redis pipelines them on
 * its one connection) instead of one round trip after another. Rejects when any of them failed.
 */
async function publishRevokedTokens(
  ctx: Pick<ServiceContext, 'channel'> & { readonly log?: AuditLog },
  tokens: readonly LiveAccessToken[],
): Promise<void> {
  const published = await Promise.allSettled(
    tokens.map((token) => publishRevocation(ctx, { kind: 'jti', value: token.jti, until: token.exp })),
  );
  const failed = published.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
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
export async function revokeAccessToken(ctx: RevocationContext, token: LiveAccessToken): Promise<void> {
  if (typeof token.jti !== 'string' || token.jti.length === 0) throw misuse('jti must be a non-empty string');
  if (!Number.isSafeInteger(token.exp)) throw misuse('exp must be epoch seconds');
  if (token.exp * 1000 <= ctx.now()) return;
  await ctx.revocations.add(token);
  await ctx.revocations.purgeExpired();
  await publishRevocation(ctx, { kind: 'jti', value: token.jti, until: token.exp });
}

/**
 * Revokes grants (refresh-token families) and every access token issued under them that has not
 * expired, in one pass: one transaction marks the grants revoked and lists the tokens
 * (`RevocationRepository.revokeGrants`), then each jti gets its own `jti` event, published
 * together. By id: /revoke for a refresh token, a code or device code redeemed twice, a refresh
 * token reused; its tokens are announced again even when it was revoked before, so a retry after
 * a failed publish still announces them. By `sid` (logout) or user (deactivation): the grants
 * still live. Returns the ids of the grants this call revoked.
 */
export async function revokeGrants(
  ctx: RevocationContext,
  selector: GrantSelector,
): Promise<readonly string[]> {
  const { grantIds, tokens } = await ctx.revocations.revokeGrants(selector);
  await ctx.revocations.purgeExpired();
  await publishRevokedTokens(ctx, tokens);
  return grantIds;
}
