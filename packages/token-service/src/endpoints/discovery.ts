import { standardClaimsByScope } from '@tessera/identity';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { idTokenProtocolClaims } from '../lib/id-token.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';
import { mtlsEndpointAliases } from '../mtls-listener.js';
import { asksForClientCertificates } from '../options.js';
import {
  clientAssertionAlgorithms,
  type TokenEndpointAuthMethod,
  tokenEndpointAuthMethods,
} from '../store/client.js';
import { grantHandlers } from './token/grants/index.js';

/**
 * The client authentication methods this service accepts as configured: RFC 8705's two only when
 * a listener asks for client certificates (`tls.clientCa`, or `mtlsAliases`).
 */
function authMethodsOf(ctx: ServiceContext): TokenEndpointAuthMethod[] {
  const mtls = asksForClientCertificates(ctx.options);
  return tokenEndpointAuthMethods.filter(
    (method) => mtls || (method !== 'tls_client_auth' && method !== 'self_signed_tls_client_auth'),
  );
}

// Every claim an ID token or /userinfo can carry: the ID token's own claims and each standard
// claim a scope releases (the same table the ID token and userinfo read).
const claimsSupported = [
  ...new Set([...idTokenProtocolClaims, ...Object.values(standardClaimsByScope).flat()]),
];

/**
 * The provider metadata (OpenID Connect Discovery 1.0, RFC 8414): exactly what this service
 * supports. The grant types come from the grant registry, so a grant is advertised once it exists.
 */
export function discoveryDocument(ctx: ServiceContext): Readonly<Record<string, unknown>> {
  const { endpoints } = ctx;
  const authMethods = authMethodsOf(ctx);
  const confidentialAuthMethods = authMethods.filter((method) => method !== 'none');
  return Object.freeze({
    issuer: ctx.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    userinfo_endpoint: endpoints.userinfo,
    jwks_uri: endpoints.jwks,
    introspection_endpoint: endpoints.introspection,
    revocation_endpoint: endpoints.revocation,
    end_session_endpoint: endpoints.endSession,
    device_authorization_endpoint: endpoints.deviceAuthorization,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...grantHandlers.keys()],
    subject_types_supported: ['public'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    introspection_endpoint_auth_methods_supported: [...confidentialAuthMethods],
    introspection_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    // A public client may revoke its own tokens (it names itself with client_id): `none` too.
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    id_token_signing_alg_values_supported: ['RS256', 'EdDSA', 'ES256'],
    userinfo_signing_alg_values_supported: [],
    scopes_supported: ['openid', ...Object.keys(standardClaimsByScope)],
    claims_supported: claimsSupported,
    prompt_values_supported: ['none', 'login'],
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    // RFC 9449 5.1: the algorithms a DPoP proof at /token may use (`Ed25519` is EdDSA's RFC 9864 name).
    dpop_signing_alg_values_supported: [...ctx.dpop.algorithms],
    // RFC 8705 3.3: certificate-bound access tokens; 5: where mutual TLS is served when the
    // issuer's own listener asks for no certificate.
    tls_client_certificate_bound_access_tokens: asksForClientCertificates(ctx.options),
    ...(ctx.options.mtlsAliases === undefined
      ? {}
      : { mtls_endpoint_aliases: mtlsEndpointAliases(endpoints, ctx.options.mtlsAliases.origin) }),
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
