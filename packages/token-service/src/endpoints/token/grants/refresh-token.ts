import { peerCertificateThumbprint } from '@tessera/core';
import type { ServiceContext } from '../../../context.js';
import { resolveAudience } from '../../../lib/audience.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { openSuccessor, sealSuccessor } from '../../../lib/refresh-successor.js';
import { revokeGrants } from '../../../lib/revocation.js';
import { resolveScopes } from '../../../lib/scope.js';
import { isPublicClient } from '../../../store/client.js';
import { hashToken, type RefreshTokenRecord } from '../../../store/grants.js';
import type { GrantHandler } from '../types.js';
import { activeUser, issueUserTokens, refreshIdleMs, refreshTokenBinding } from './user-tokens.js';

const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description);

async function findToken(ctx: ServiceContext, token: string): Promise<RefreshTokenRecord | undefined> {
  // A refresh token is 43 base64url characters; anything much longer is not one of ours.
  return token.length > 512 ? undefined : ctx.grants.findByRefreshToken(hashToken(token));
}

/**
 * The reuse grace (`refreshTokenReuseGrace`): a refresh token presented again shortly after it
 * was rotated (a client refreshing twice at once) answers with the successor it was rotated into,
 * read back from SQL, so every instance gives the same one. Only while that successor is still
 * the family's newest token (unrotated, unexpired): the family never forks, and once the client
 * has moved on, the old token is a replay again. Undefined when the grace does not apply.
 */
async function successorWithinGrace(
  ctx: ServiceContext,
  token: string,
  graceMs: number,
): Promise<string | undefined> {
  // Read again: the rotation this request lost may have committed since the first read.
  const rotated = await findToken(ctx, token);
  if (rotated?.rotatedAt === undefined || rotated.sealedSuccessor === undefined) return undefined;
  const now = ctx.now();
  if (now - rotated.rotatedAt > graceMs) return undefined;
  const successor = openSuccessor(token, rotated.grant.id, rotated.sealedSuccessor);
  if (successor === undefined) return undefined;
  const next = await findToken(ctx, successor);
  if (next === undefined || next.grant.id !== rotated.grant.id) return undefined;
  if (next.rotatedAt !== undefined || next.expiresAt <= now) return undefined;
  return successor;
}

/**
 * RFC 6749 6 with rotation (RFC 9700 4.14.2): each refresh token works once, rotated by a
 * conditional UPDATE; a rotated one presented again (a replay, or the loser of two concurrent
 * uses) revokes the whole family, unless the opt-in reuse grace covers it (confidential clients
 * only). Idle and absolute lifetimes; scope may only narrow. Every check comes before the
 * rotation, so only a refresh that succeeds uses the token up. A refresh token bound to a DPoP
 * key (a public client's, RFC 9449 5) is refused without a proof by that key, and left as it was.
 */
export const refreshTokenGrant: GrantHandler = async ({
  ctx,
  form,
  client: { client },
  dpop,
  holder,
  request,
}) => {
  const token = form.get('refresh_token');
  if (token === undefined) throw new OAuthError('invalid_request', 'refresh_token is required');
  const record = await findToken(ctx, token);
  if (record === undefined) throw invalidGrant('the refresh token is invalid');
  const { grant } = record;
  // Another client's token: refused without touching it (its owner's family stays valid).
  if (grant.clientId !== client.client_id)
    throw invalidGrant('the refresh token was issued to another client');
  if (grant.revokedAt !== undefined) throw invalidGrant('the refresh token was revoked');
  const now = ctx.now();
  if (record.expiresAt <= now || grant.expiresAt <= now) throw invalidGrant('the refresh token has expired');
  if (record.binding.dpopJkt !== undefined && dpop?.jkt !== record.binding.dpopJkt) {
    throw invalidGrant(
      dpop === undefined
        ? 'the refresh token is bound to a DPoP key: send a proof signed by it'
        : 'the refresh token is bound to another DPoP key',
    );
  }
  if (
    record.binding.x5tS256 !== undefined &&
    peerCertificateThumbprint(request.raw.socket) !== record.binding.x5tS256
  ) {
    throw invalidGrant('the refresh token is bound to a client certificate: present that certificate');
  }
  // Everything the request asks is checked before the token is rotated: a refused refresh (a bad
  // scope, resource or audience, a disabled user) leaves the refresh token as it was.
  const scopes = resolveScopes(form.get('scope'), grant.scopes);
  const audience = resolveAudience(form, grant.audiences);
  const user = await activeUser(ctx, grant);
  // A public client's token may have been stolen from the client itself: no grace, ever.
  const graceMs = isPublicClient(client) ? 0 : ctx.options.refreshTokenReuseGrace * 1000;
  const seal = graceMs > 0 ? (successor: string) => sealSuccessor(token, grant.id, successor) : undefined;
  let refreshToken =
    record.rotatedAt === undefined
      ? await ctx.grants.rotate(
          record.tokenHash,
          grant.id,
          refreshIdleMs(ctx, grant),
          seal,
          refreshTokenBinding(client, record.binding, holder),
        )
      : undefined;
  if (refreshToken === undefined && graceMs > 0)
    refreshToken = await successorWithinGrace(ctx, token, graceMs);
  if (refreshToken === undefined) {
    await revokeGrants(ctx, { grantId: grant.id });
    throw invalidGrant('the refresh token was already used');
  }
  return issueUserTokens(ctx, {
    client,
    grant,
    user,
    scopes,
    audience,
    nonce: undefined,
    refreshToken,
    holder,
  });
};
