import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';
import { clientAssertionAlgorithms, tokenEndpointAuthMethods } from '../store/client.js';
import { grantHandlers } from './token/grants/index.js';

const confidentialAuthMethods = tokenEndpointAuthMethods.filter((method) => method !== 'none');

/**
 * The provider metadata (OpenID Connect Discovery 1.0, RFC 8414): exactly what this service
 * supports. The grant types come from the grant registry, so a grant is advertised once it exists.
 */
export function discoveryDocument(ctx: ServiceContext): Readonly<Record<string, unknown>> {
  const { endpoints } = ctx;
  return Object.freeze({
    issuer: ctx.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    userinfo_endpoint: endpoints.userinfo,
    jwks_uri: endpoints.jwks,
    introspection_endpoint: endpoints.introspection,
    revocation_endpoint: endpoints.revocation,
    end_session_endpoint: endpoints.endSession,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...grantHandlers.keys()],
    subject_types_supported: ['public'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: [...tokenEndpointAuthMethods],
    token_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    introspection_endpoint_auth_methods_supported: [...confidentialAuthMethods],
    introspection_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    revocation_endpoint_auth_methods_supported: [...confidentialAuthMethods],
    revocation_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    id_token_signing_alg_values_supported: ['RS256', 'EdDSA', 'ES256'],
    userinfo_signing_alg_values_supported: [],
    scopes_supported: ['openid', 'profile', 'email'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'name', 'email'],
    prompt_values_supported: ['none', 'login'],
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
  });
}

export function registerDiscovery(app: FastifyInstance, ctx: ServiceContext): void {
  const document = discoveryDocument(ctx);
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    app.get(path, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300').removeHeader('pragma');
      return document;
    });
    methodNotAllowed(app, path, ['GET']);
  }
}
