import type { ServiceContext } from '../../../context.js';
import { resolveAudience } from '../../../lib/audience.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { revokeGrant } from '../../../lib/revocation.js';
import { resolveScopes } from '../../../lib/scope.js';
import { hashToken, type RefreshTokenRecord } from '../../../store/grants.js';
import type { GrantHandler } from '../types.js';
import { activeUser, issueUserTokens } from './user-tokens.js';

const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description);

async function findToken(ctx: ServiceContext, token: string): Promise<RefreshTokenRecord> {
  // A refresh token is 43 base64url characters; anything much longer is not one of ours.
  const record = token.length > 512 ? undefined : await ctx.grants.findByRefreshToken(hashToken(token));
  if (record === undefined) throw invalidGrant('the refresh token is invalid');
  return record;
}

/**
 * RFC 6749 6 with rotation (RFC 9700 4.14.2): each refresh token works once, rotated by a
 * conditional UPDATE; a rotated one presented again (a replay, or the loser of two concurrent
 * uses) revokes the whole family. Idle and absolute lifetimes; scope may only narrow. Every check
 * comes before the rotation, so only a refresh that succeeds uses the token up.
 */
export const refreshTokenGrant: GrantHandler = async ({ ctx, form, client: { client } }) => {
  const token = form.get('refresh_token');
  if (token === undefined) throw new OAuthError('invalid_request', 'refresh_token is required');
  const record = await findToken(ctx, token);
  const { grant } = record;
  // Another client's token: refused without touching it (its owner's family stays valid).
  if (grant.clientId !== client.client_id)
    throw invalidGrant('the refresh token was issued to another client');
  if (grant.revokedAt !== undefined) throw invalidGrant('the refresh token was revoked');
  const now = ctx.now();
  if (record.expiresAt <= now || grant.expiresAt <= now) throw invalidGrant('the refresh token has expired');
  // Everything the request asks is checked before the token is rotated: a refused refresh (a bad
  // scope, resource or audience, a disabled user) leaves the refresh token as it was.
  const scopes = resolveScopes(form.get('scope'), grant.scopes);
  const audience = resolveAudience(form, grant.audiences);
  const user = await activeUser(ctx, grant);
  if (record.rotatedAt !== undefined || !(await ctx.grants.markRotated(record.tokenHash))) {
    await revokeGrant(ctx, ctx.grants, grant.id);
    throw invalidGrant('the refresh token was already used');
  }
  return issueUserTokens(ctx, { client, grant, user, scopes, audience, nonce: undefined });
};
