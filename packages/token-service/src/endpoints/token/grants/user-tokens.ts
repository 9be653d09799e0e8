import type { User } from '@tessera/identity';
import type { ServiceContext } from '../../../context.js';
import { signIdToken } from '../../../lib/id-token.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { revokeAccessToken } from '../../../lib/revocation.js';
import type { TokenHolder } from '../../../lib/token-holder.js';
import { claimsForScopes } from '../../../lib/user-claims.js';
import { type Client, isPublicClient } from '../../../store/client.js';
import type { Grant, RefreshBinding } from '../../../store/grants.js';
import type { TokenResponse } from '../types.js';

const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description);

/** The grant's user, when the account still exists and is enabled. */
export async function activeUser(ctx: ServiceContext, grant: Grant): Promise<User> {
  const user = await ctx.users.findById(grant.userId);
  if (user === null || user.disabled) throw invalidGrant('the user is no longer active');
  return user;
}

/**
 * The tokens of a grant a code was redeemed for (authorization_code, device_code): the grant must
 * still be live and its user active; the scopes are the grant's, the audience the one the request
 * resolves against the grant (`audienceOf`).
 */
export async function issueForCodeGrant(
  ctx: ServiceContext,
  grantId: string | undefined,
  options: {
    readonly client: Client;
    readonly audienceOf: (grant: Grant) => readonly string[];
    readonly nonce: string | undefined;
    readonly holder: TokenHolder;
  },
): Promise<TokenResponse> {
  const grant = grantId === undefined ? undefined : await ctx.grants.find(grantId);
  if (grant === undefined || grant.revokedAt !== undefined) throw invalidGrant('the grant was revoked');
  const user = await activeUser(ctx, grant);
  const { client, nonce, holder } = options;
  return issueUserTokens(ctx, {
    client,
    grant,
    user,
    scopes: grant.scopes,
    audience: options.audienceOf(grant),
    nonce,
    holder,
  });
}

/**
 * The tokens of a user grant (authorization_code and refresh_token): an RFC 9068 access token with
 * `sid` and `auth_time` (its jti recorded under the grant, so revoking the grant can announce it),
 * an ID token when `openid` was granted, and a new refresh token when the client has that grant.
 */
export async function issueUserTokens(
  ctx: ServiceContext,
  options: {
    readonly client: Client;
    readonly grant: Grant;
    readonly user: User;
    readonly scopes: readonly string[];
    readonly audience: readonly string[];
    readonly nonce: string | undefined;
    /** The refresh token to answer with (a refresh's successor); else a new one is added. */
    readonly refreshToken?: string;
    /** Whom the access token (and a public client's refresh token) is bound to. */
    readonly holder: TokenHolder;
  },
): Promise<TokenResponse> {
  const { client, grant, user, scopes } = options;
  // A client with no registered audience (sign-in only) gets a token for itself: enough for /userinfo.
  const audience = options.audience.length > 0 ? options.audience : [client.client_id];
  const access = ctx.accessTokens.issue({
    subject: user.id,
    clientId: client.client_id,
    audience,
    scopes,
    ...(grant.sid === undefined ? {} : { sessionId: grant.sid }),
    authTime: grant.authTime,
    ...options.holder.claims,
  });
  // A concurrent reuse (the same code or refresh token sent twice at once) may have revoked the
  // grant and listed its jtis before this one was recorded: then revoke it ourselves. This caller
  // won the conditional UPDATE, so it still answers 200 (exactly one does), but its tokens are
  // already dead: the access token is on the revocation list and the refresh token belongs to a
  // revoked family.
  if (!(await ctx.grants.recordAccessToken(grant.id, access.jti, access.exp))) {
    await revokeAccessToken(ctx, { jti: access.jti, exp: access.exp });
  }
  const response: {
    access_token: string;
    token_type: 'Bearer' | 'DPoP';
    expires_in: number;
    scope?: string;
    id_token?: string;
    refresh_token?: string;
  } = {
    access_token: access.token,
    token_type: options.holder.tokenType,
    expires_in: ctx.options.accessTokenLifetime,
  };
  if (scopes.length > 0) response.scope = scopes.join(' ');
  if (scopes.includes('openid')) {
    response.id_token = signIdToken({
      keys: ctx.keys.keySet,
      alg: client.id_token_signed_response_alg,
      issuer: ctx.issuer,
      lifetime: ctx.options.idTokenLifetime,
      now: ctx.now(),
      claims: {
        subject: user.id,
        clientId: client.client_id,
        authTime: grant.authTime,
        nonce: options.nonce,
        sid: grant.sid,
        accessToken: access.token,
        claims: claimsForScopes(user, scopes),
      },
    });
  }
  if (options.refreshToken !== undefined) response.refresh_token = options.refreshToken;
  else if (client.grant_types.includes('refresh_token')) {
    response.refresh_token = await ctx.grants.addRefreshToken(
      grant.id,
      refreshIdleMs(ctx, grant),
      refreshTokenBinding(client, undefined, options.holder),
    );
  }
  return response;
}

/**
 * What a new refresh token is bound to (RFC 9449 5, RFC 8705 4): its predecessor's binding, or,
 * for a public client, the request's key or certificate. A confidential client authenticates
 * every refresh already, so its refresh tokens stay unbound and it may change keys.
 */
export function refreshTokenBinding(
  client: Client,
  predecessor: RefreshBinding | undefined,
  holder: TokenHolder,
): RefreshBinding {
  if (predecessor !== undefined && (predecessor.dpopJkt !== undefined || predecessor.x5tS256 !== undefined)) {
    return predecessor;
  }
  return isPublicClient(client) ? holder.refresh : {};
}

/** How long a new refresh token of the grant may stay unused: the idle lifetime, cut to the family's end. */
export function refreshIdleMs(ctx: ServiceContext, grant: Grant): number {
  return Math.min(ctx.options.refreshTokenIdleLifetime * 1000, grant.expiresAt - ctx.now());
}
