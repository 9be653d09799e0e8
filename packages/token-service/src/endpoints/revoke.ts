import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { authenticateClient } from '../lib/client-auth/index.js';
import { rejectRepeatedParameters, requireFormBody } from '../lib/form-body.js';
import { postEndpoint } from '../lib/method-not-allowed.js';
import { invalidRequest, OAuthError } from '../lib/oauth-error.js';
import { looksLikeJwt, verifyOwnAccessToken } from '../lib/own-access-token.js';
import { revokeAccessToken, revokeGrants } from '../lib/revocation.js';
import { hashToken } from '../store/grants.js';

// RFC 7009 2.1: the server verifies the token was issued to the requesting client; if not, "the
// request is refused and the client is informed of the error". The code follows Ory fosite.
function notYours(): OAuthError {
  return new OAuthError('unauthorized_client', 'the token was not issued to this client');
}

/**
 * Revokes an access token: its jti joins the revocation list until `exp`, and a `jti` event goes
 * out. The grant it came from (if any) stays: revoking the refresh token is how a client ends that.
 */
async function revokeAccess(ctx: ServiceContext, token: string, clientId: string): Promise<void> {
  const verified = await verifyOwnAccessToken(ctx, token);
  // Invalid or expired: nothing left to revoke (7009 2.2: still 200). Already revoked: revoked
  // again, which only re-publishes its event, so a retry after a failed publish still announces it.
  if (!verified.ok && verified.reason !== 'revoked') return;
  const { principal } = verified;
  if (principal.clientId !== clientId) throw notYours();
  await revokeAccessToken(ctx, { jti: principal.tokenId, exp: principal.expiresAt });
}

/**
 * Revokes a refresh token's whole grant: the family can never refresh again, and every access
 * token issued under the grant that has not expired is revoked (one `jti` event each).
 */
async function revokeRefresh(ctx: ServiceContext, token: string, clientId: string): Promise<void> {
  if (token.length > 512) return;
  const record = await ctx.grants.findByRefreshToken(hashToken(token));
  if (record === undefined) return;
  if (record.grant.clientId !== clientId) throw notYours();
  await revokeGrants(ctx, { grantId: record.grant.id });
}

/**
 * POST /revoke (RFC 7009). Client authentication as at /token (a public client names itself and
 * may revoke its own tokens: they are useless to anyone else). `token` is required (400
 * invalid_request). `token_type_hint` is accepted and ignored: access tokens (JWS) and refresh
 * tokens (opaque) are told apart by their shape, so a wrong hint still finds the token. Unknown,
 * invalid, expired and already revoked tokens: 200. A token of another client: 400
 * unauthorized_client, and the token stays valid.
 */
async function revocationEndpoint(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = requireFormBody(request.body);
  rejectRepeatedParameters(form);
  const client = await authenticateClient(ctx, request, form);
  const token = form.get('token');
  if (token === undefined) throw invalidRequest('token is required');
  const clientId = client.client.client_id;
  if (looksLikeJwt(token)) await revokeAccess(ctx, token, clientId);
  else await revokeRefresh(ctx, token, clientId);
  return reply.code(200).send();
}

export function registerRevocation(app: FastifyInstance, ctx: ServiceContext): void {
  postEndpoint(app, ctx, '/revoke', revocationEndpoint);
}
