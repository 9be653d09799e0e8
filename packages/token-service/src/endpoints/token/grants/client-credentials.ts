import { resolveAudience } from '../../../lib/audience.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { resolveScopes } from '../../../lib/scope.js';
import { isPublicClient } from '../../../store/client.js';
import type { GrantHandler } from '../types.js';

/**
 * RFC 6749 4.4: a confidential client gets an access token for itself (sub = client_id), with
 * scopes from its registered ones and `aud` its registered audiences unless narrowed with
 * `audience` or `resource`. No refresh token (4.4.3).
 */
export const clientCredentialsGrant: GrantHandler = async ({ ctx, form, client: { client }, holder }) => {
  if (isPublicClient(client)) {
    throw new OAuthError('unauthorized_client', 'client_credentials needs a confidential client');
  }
  const scopes = resolveScopes(form.get('scope'), client.scopes);
  const audience = resolveAudience(form, client.audiences);
  if (audience.length === 0) throw new OAuthError('invalid_target', 'the client has no registered audience');
  const { token } = ctx.accessTokens.issue({
    subject: client.client_id,
    clientId: client.client_id,
    audience,
    scopes,
    ...holder.claims,
  });
  return {
    access_token: token,
    token_type: holder.tokenType,
    expires_in: ctx.options.accessTokenLifetime,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  };
};
