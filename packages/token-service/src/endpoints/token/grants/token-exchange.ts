import type { Actor, Principal } from '@tessera/core';
import type { ServiceContext } from '../../../context.js';
import { resolveAudience } from '../../../lib/audience.js';
import { OAuthError } from '../../../lib/oauth-error.js';
import { verifyOwnAccessToken } from '../../../lib/own-access-token.js';
import { revokeAccessToken } from '../../../lib/revocation.js';
import { resolveScopes } from '../../../lib/scope.js';
import type { TokenHolder } from '../../../lib/token-holder.js';
import { isPublicClient } from '../../../store/client.js';
import type { GrantHandler } from '../types.js';

/** RFC 8693 3: the one token type this service takes as subject and issues. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function invalidRequest(description: string): OAuthError {
  return new OAuthError('invalid_request', description);
}

function invalidGrant(description: string, cause?: string): OAuthError {
  return new OAuthError('invalid_grant', description, cause === undefined ? {} : { cause: { code: cause } });
}

/**
 * RFC 8693 2.1 parameters. Only access tokens of this issuer are accepted as subject
 * (`subject_token_type` must be `...:token-type:access_token`; `...:jwt`, `...:id_token`,
 * `...:refresh_token` and the rest are invalid_request, as 2.2.2 names for unacceptable requests).
 * The actor is always the authenticated client, so `actor_token` is not taken: with or without its
 * type it is invalid_request, as is a type without the token (2.1: "MUST NOT be included otherwise").
 */
function checkParameters(form: { get(name: string): string | undefined }): string {
  const subjectToken = form.get('subject_token');
  const subjectTokenType = form.get('subject_token_type');
  if (subjectToken === undefined) throw invalidRequest('subject_token is required');
  if (subjectTokenType === undefined) throw invalidRequest('subject_token_type is required');
  const actorToken = form.get('actor_token');
  const actorTokenType = form.get('actor_token_type');
  if (actorToken !== undefined && actorTokenType === undefined) {
    throw invalidRequest('actor_token_type is required with actor_token');
  }
  if (actorToken === undefined && actorTokenType !== undefined) {
    throw invalidRequest('actor_token_type must not be sent without actor_token');
  }
  if (actorToken !== undefined) {
    throw invalidRequest('actor_token is not supported: the actor is the authenticated client');
  }
  if (subjectTokenType !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest('subject_token_type must be urn:ietf:params:oauth:token-type:access_token');
  }
  const requested = form.get('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest('requested_token_type must be urn:ietf:params:oauth:token-type:access_token');
  }
  return subjectToken;
}

/**
 * RFC 8693 with RFC 9449 and RFC 8705: a bound subject token stays bound along the chain. A
 * DPoP-bound one is exchanged only with a proof, a certificate-bound one only over a connection
 * presenting the exchanger's certificate (the new token is bound to the exchanger, never a bearer
 * token), and only by its holder (the proof's key or the certificate is the subject's) or by a
 * client registered `dpop_bound_subject_tokens`: one that checked the holder's proof when the
 * token reached it (the gateway at the edge, a service's client behind it), which is why a token
 * copied out of a hop is not worth an exchange to whoever lacks that client's credentials.
 */
function checkSubjectBinding(subject: Principal, holder: TokenHolder, exchangesBoundSubjects: boolean): void {
  const bound = subject.binding;
  if (bound === undefined) return;
  const { dpopJkt, certificateThumbprint } = holder.claims;
  if (bound.type === 'dpop' && dpopJkt === undefined) {
    throw new OAuthError(
      'invalid_dpop_proof',
      'a DPoP-bound subject token is exchanged only for a token bound to the exchanging client: send a DPoP proof',
    );
  }
  if (bound.type === 'mtls' && certificateThumbprint === undefined) {
    throw invalidGrant(
      'a certificate-bound subject token is exchanged only for a token bound to the exchanging client: register it for certificate-bound tokens',
      'ERR_MTLS_CERTIFICATE_REQUIRED',
    );
  }
  const held = bound.type === 'dpop' ? bound.jkt === dpopJkt : bound.x5tS256 === certificateThumbprint;
  if (!held && !exchangesBoundSubjects) {
    throw invalidGrant(
      `the subject token is bound to another ${bound.type === 'dpop' ? 'key' : 'certificate'}, and this client is not registered to exchange bound tokens`,
      bound.type === 'dpop' ? 'ERR_DPOP_KEY_MISMATCH' : 'ERR_MTLS_CERTIFICATE_MISMATCH',
    );
  }
}

/**
 * A token exchanged from a user's token belongs to the same grant: recorded under it, revoking the
 * grant (its refresh token, a code used twice, logout) revokes every hop too, and the next hop's
 * exchange finds the grant again through this token. A concurrent revocation may have listed the
 * grant's tokens before this one was recorded: then take the token back.
 */
async function joinSubjectGrant(
  ctx: ServiceContext,
  subjectJti: string,
  issued: { readonly jti: string; readonly exp: number },
): Promise<void> {
  const grant = await ctx.grants.grantOfAccessToken(subjectJti);
  if (grant === undefined) return;
  if (grant.revokedAt !== undefined) throw invalidGrant('the subject token was revoked', 'revoked');
  if (!(await ctx.grants.recordAccessToken(grant.id, issued.jti, issued.exp))) {
    await revokeAccessToken(ctx, issued);
    throw invalidGrant('the subject token was revoked', 'revoked');
  }
}

/**
 * RFC 8693 token exchange, the hop of the token flow in docs/architecture.md: a service that received an access token
 * (its `aud` names the service's client_id) trades it for one addressed to a service it calls.
 *
 * - Confidential clients only (a public client cannot be told apart from anyone holding the
 *   token: unauthorized_client); unauthenticated requests never reach here (401 invalid_client).
 * - The subject token must be an access token of this issuer, validly signed, unexpired, not
 *   revoked, and its `aud` must contain the client's client_id; else invalid_grant.
 * - `aud`: the requested `audience`/`resource` values, each among the client's registered
 *   audiences (invalid_target); without them, all of its registered audiences.
 * - `scope`: the requested scopes, each among the client's registered scopes (invalid_scope);
 *   without `scope`, all of them. The subject token's own scopes are not the ceiling: they describe
 *   what the caller may do at this service, not what this service may ask of the next one; the
 *   ceiling is what the client could obtain for itself, and the token adds only "on behalf of".
 * - Claims kept from the subject: `sub`, `sid`, `auth_time` (a client token stays a client token:
 *   docs/security.md C71). `client_id` becomes the exchanging client. `act` = `{ sub: client_id }` with
 *   the subject's own `act` nested inside it, so each hop lengthens the chain.
 * - A token exchanged from a grant's token is recorded under that grant, so revoking the grant
 *   revokes every hop.
 * - Lifetime: the configured access-token lifetime, cut to what is left of the subject token, so
 *   an exchange never extends a delegation and revoking by `sub`/`sid` covers every hop.
 * - A DPoP-bound subject (`cnf.jkt`) needs a proof, and the proof's key must be the subject's
 *   unless the client is registered `dpop_bound_subject_tokens` (`checkSubjectBinding`).
 * - The answer: `issued_token_type` access_token, `token_type` Bearer (DPoP, bound to the
 *   exchanging client's key, when the request carries a proof; bound to its certificate when it
 *   is registered for certificate-bound tokens); never a refresh token.
 */
export const tokenExchangeGrant: GrantHandler = async ({ ctx, form, client: { client }, holder }) => {
  if (isPublicClient(client)) {
    throw new OAuthError('unauthorized_client', 'token exchange needs a confidential client');
  }
  const subjectToken = checkParameters(form);
  const verified = await verifyOwnAccessToken(ctx, subjectToken, [client.client_id]);
  if (!verified.ok) {
    const description =
      verified.reason === 'audience'
        ? 'the subject token is not meant for this client'
        : `the subject token is ${verified.reason === 'invalid' ? 'not a valid access token of this issuer' : verified.reason}`;
    throw invalidGrant(description, 'code' in verified ? verified.code : verified.reason);
  }
  const subject = verified.principal;
  checkSubjectBinding(subject, holder, client.dpop_bound_subject_tokens);
  const audience = resolveAudience(form, client.audiences);
  if (audience.length === 0) throw new OAuthError('invalid_target', 'the client has no registered audience');
  const scopes = resolveScopes(form.get('scope'), client.scopes);

  const nowS = Math.floor(ctx.now() / 1000);
  const lifetime = Math.min(ctx.options.accessTokenLifetime, Math.floor(subject.expiresAt) - nowS);
  if (lifetime < 1) throw invalidGrant('the subject token is expired', 'expired');
  const actors: Actor[] = [{ subject: client.client_id }, ...subject.actors];
  const issued = ctx.accessTokens.issue(
    {
      subject: subject.subject,
      clientId: client.client_id,
      audience,
      scopes,
      actors,
      ...(subject.sessionId === undefined ? {} : { sessionId: subject.sessionId }),
      ...(subject.authTime === undefined ? {} : { authTime: subject.authTime }),
      // Bound to the exchanging client's own key or certificate, never to its caller's.
      ...holder.claims,
    },
    { lifetime },
  );
  await joinSubjectGrant(ctx, subject.tokenId, issued);
  return {
    access_token: issued.token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: holder.tokenType,
    expires_in: lifetime,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  };
};
