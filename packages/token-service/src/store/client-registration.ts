import { type SigningAlgorithm, signingAlgorithms } from '@tessera/core';
import type { DeepReadonly } from '@tessera/core/config';
import { z } from 'zod';
import { TokenServiceError } from '../errors.js';
import { webOriginProblem } from '../lib/cors.js';
import { redirectUriProblem } from '../lib/redirect-uri.js';
import { isBoundedScopeToken } from '../lib/scope.js';
import {
  type ClientMetadata,
  clientAssertionAlgorithms,
  DEVICE_CODE_GRANT,
  type GrantType,
  grantTypes,
  type TlsClientAuthField,
  type TlsClientAuthSubject,
  type TokenEndpointAuthMethod,
  tlsClientAuthFields,
  tokenEndpointAuthMethods,
} from './client.js';

// RFC 6749 A.1: client_id = *VSCHAR; we also refuse spaces so it is safe in logs and claims.
const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;
const AUDIENCE = /^[\x21-\x7e]{1,2000}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * What a client is registered with, RFC 7591 names: the one definition of the client record's
 * shape. `ClientRegistration` is inferred from it, the seed file is read with it (so a seed, the
 * CLI and `service.clients` accept exactly the same), and `validateRegistration` parses with it
 * before the rules that span fields.
 */
export const clientRegistrationSchema = z.strictObject({
  client_id: z.string().regex(CLIENT_ID, 'must be 1-255 printable ASCII characters without spaces'),
  /** Omit for a public client (PKCE) or a private_key_jwt client. */
  client_secret: z.string().min(1).max(1024).optional(),
  client_name: z.string().max(200).optional(),
  redirect_uris: z.array(z.string()).max(50).optional(),
  post_logout_redirect_uris: z.array(z.string()).max(50).optional(),
  /** Default: `authorization_code` (+ `refresh_token`) when redirect URIs are given, else `client_credentials`. */
  grant_types: z.array(z.enum(grantTypes)).min(1).optional(),
  scopes: z.array(z.string()).max(200).optional(),
  audiences: z
    .array(z.string().regex(AUDIENCE, 'must be printable ASCII without spaces'))
    .max(100)
    .optional(),
  first_party: z.boolean().optional(),
  /** Default: `client_secret_basic` with a secret, `private_key_jwt` with `jwks`, else `none`. */
  token_endpoint_auth_method: z.enum(tokenEndpointAuthMethods).optional(),
  token_endpoint_auth_signing_alg: z.enum(clientAssertionAlgorithms).optional(),
  /** For private_key_jwt: its public keys, each a JWK by member name. */
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(20) }).optional(),
  /** Default RS256 (OpenID Connect requires every provider to offer it). */
  id_token_signed_response_alg: z
    .enum(signingAlgorithms as [SigningAlgorithm, ...SigningAlgorithm[]])
    .optional(),
  /** Back-Channel Logout: absolute, no fragment, https or loopback http (as redirect URIs). */
  backchannel_logout_uri: z.string().optional(),
  /** Default false. */
  backchannel_logout_session_required: z.boolean().optional(),
  /**
   * Web origins a browser application of this client runs at (`https://shop.example`): the only
   * origins the token service answers CORS for. Exact origins (scheme, host, port), no wildcard,
   * no path; https, or http on loopback. Default none.
   */
  allowed_origins: z.array(z.string()).max(20).optional(),
  dpop_bound_access_tokens: z.boolean().optional(),
  /**
   * RFC 8705 2.1.2, for tls_client_auth: exactly one of these names what the client's certificate
   * must carry, compared as a whole: the subject DN as RFC 4514 writes it (`CN=orders,O=Shop`), or
   * one subjectAltName entry of its kind.
   */
  tls_client_auth_subject_dn: z.string().min(1).max(1000).optional(),
  tls_client_auth_san_dns: z.string().min(1).max(253).optional(),
  tls_client_auth_san_uri: z.string().min(1).max(2000).optional(),
  tls_client_auth_san_ip: z.string().min(1).max(45).optional(),
  tls_client_auth_san_email: z.string().min(1).max(320).optional(),
  /** RFC 8705 3.4: bind every access token to the request's client certificate. Default false. */
  tls_client_certificate_bound_access_tokens: z.boolean().optional(),
  /**
   * Token exchange may take a DPoP-bound subject token bound to another key than the proof this
   * client sends: it checked the holder's proof when the token reached it. Default false.
   */
  dpop_bound_subject_tokens: z.boolean().optional(),
});

/**
 * A client's registration, readonly all the way down: what `service.clients.register` and
 * `upsert` take and what a loaded (deep-frozen) seed file holds.
 */
export type ClientRegistration = DeepReadonly<z.output<typeof clientRegistrationSchema>>;

/**
 * A registration that passed every rule, with defaults applied. Its `jwks` is as registered
 * (checked to hold public keys only) and goes to the store as JSON.
 */
export interface ValidRegistration extends Omit<ClientMetadata, 'jwks'> {
  readonly client_secret: string | undefined;
  readonly jwks: ClientRegistration['jwks'];
}

function fail(clientId: string, message: string): TokenServiceError {
  return new TokenServiceError('ERR_CLIENT_REGISTRATION_INVALID', `client ${clientId}: ${message}`);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function defaultMethod(input: ClientRegistration): TokenEndpointAuthMethod {
  if (input.client_secret !== undefined) return 'client_secret_basic';
  if (input.jwks !== undefined) return 'private_key_jwt';
  return 'none';
}

/** RFC 8705 2.1.2: a tls_client_auth client names exactly one subject field; no other client any. */
function tlsClientAuthSubject(
  clientId: string,
  value: ClientRegistration,
  method: TokenEndpointAuthMethod,
): TlsClientAuthSubject | undefined {
  const given = tlsClientAuthFields.filter((field) => value[field] !== undefined);
  if (method !== 'tls_client_auth') {
    if (given.length > 0) throw fail(clientId, `${given[0]} is only used with tls_client_auth`);
    return undefined;
  }
  const field = given[0] as TlsClientAuthField | undefined;
  if (field === undefined || given.length > 1) {
    throw fail(clientId, `tls_client_auth needs exactly one of ${tlsClientAuthFields.join(', ')}`);
  }
  return Object.freeze({ field, value: value[field] as string });
}

function checkJwks(clientId: string, jwks: NonNullable<ClientRegistration['jwks']>): void {
  const kids = new Set<string>();
  for (const key of jwks.keys) {
    if (PRIVATE_MEMBERS.some((member) => member in key) || key.kty === 'oct') {
      throw fail(clientId, 'jwks must hold public keys only');
    }
    if (key.kty !== 'RSA' && key.kty !== 'EC' && key.kty !== 'OKP') {
      throw fail(clientId, 'jwks keys must be RSA, EC or OKP');
    }
    if (typeof key.kid === 'string') {
      if (kids.has(key.kid)) throw fail(clientId, 'jwks kids must be distinct');
      kids.add(key.kid);
    }
  }
}

/**
 * Reads anything as a registration with the one schema (unknown keys refused, each field's type
 * and limits): what a caller builds from untyped input (the CLI's flags) is typed by it, not cast.
 * Throws TokenServiceError ERR_CLIENT_REGISTRATION_INVALID naming the client and the field.
 */
export function parseClientRegistration(input: unknown): ClientRegistration {
  const parsed = clientRegistrationSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const { client_id: clientId } = (typeof input === 'object' && input !== null ? input : {}) as {
    readonly client_id?: unknown;
  };
  const id = typeof clientId === 'string' ? clientId.slice(0, 64) : '(no client_id)';
  const issue = parsed.error.issues[0];
  throw fail(id, `${issue?.path.join('.') || 'registration'}: ${issue?.message ?? 'invalid'}`);
}

/**
 * Checks a registration against the rules of the README (redirect URIs and the back-channel
 * logout URI absolute, no fragment, https or loopback http; grant types consistent with the auth method; scope grammar) and applies
 * defaults. Throws TokenServiceError ERR_CLIENT_REGISTRATION_INVALID naming the client and the rule.
 */
export function validateRegistration(input: ClientRegistration): ValidRegistration {
  const value = parseClientRegistration(input);
  const clientId = value.client_id;
  const method = value.token_endpoint_auth_method ?? defaultMethod(value);
  const redirectUris = unique(value.redirect_uris ?? []);
  const postLogout = unique(value.post_logout_redirect_uris ?? []);
  for (const uri of [...redirectUris, ...postLogout]) {
    const problem = redirectUriProblem(uri);
    if (problem !== undefined)
      throw fail(clientId, `redirect URI ${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  }
  if (value.backchannel_logout_uri !== undefined) {
    // Back-Channel Logout 1.0 section 2.2: an absolute URI, no fragment; same scheme rules as redirects.
    const problem = redirectUriProblem(value.backchannel_logout_uri);
    if (problem !== undefined) {
      throw fail(
        clientId,
        `backchannel_logout_uri ${JSON.stringify(value.backchannel_logout_uri.slice(0, 200))} ${problem}`,
      );
    }
  }
  if (value.backchannel_logout_session_required === true && value.backchannel_logout_uri === undefined) {
    throw fail(clientId, 'backchannel_logout_session_required needs a backchannel_logout_uri');
  }
  const allowedOrigins = unique(value.allowed_origins ?? []);
  for (const origin of allowedOrigins) {
    const problem = webOriginProblem(origin);
    if (problem !== undefined)
      throw fail(clientId, `allowed origin ${JSON.stringify(origin.slice(0, 200))} ${problem}`);
  }
  const grants = unique<GrantType>(
    value.grant_types ??
      (redirectUris.length > 0 ? ['authorization_code', 'refresh_token'] : ['client_credentials']),
  );
  const scopes = unique(value.scopes ?? []);
  for (const scope of scopes) {
    if (!isBoundedScopeToken(scope))
      throw fail(clientId, `scope ${JSON.stringify(scope.slice(0, 100))} breaks the scope grammar`);
  }
  const isSecretMethod = method === 'client_secret_basic' || method === 'client_secret_post';
  if (isSecretMethod && value.client_secret === undefined)
    throw fail(clientId, `${method} needs a client_secret`);
  if (!isSecretMethod && value.client_secret !== undefined) {
    throw fail(clientId, `a client_secret cannot be used with ${method}`);
  }
  if (method === 'private_key_jwt' || method === 'self_signed_tls_client_auth') {
    if (value.jwks === undefined) throw fail(clientId, `${method} needs jwks (public keys)`);
    checkJwks(clientId, value.jwks);
  } else if (value.jwks !== undefined) {
    throw fail(clientId, 'jwks is only used with private_key_jwt or self_signed_tls_client_auth');
  }
  const tlsSubject = tlsClientAuthSubject(clientId, value, method);
  if (value.tls_client_certificate_bound_access_tokens === true && value.dpop_bound_access_tokens === true) {
    throw fail(clientId, 'a token is bound to a DPoP key or to a certificate, not both');
  }
  if (value.token_endpoint_auth_signing_alg !== undefined && method !== 'private_key_jwt') {
    throw fail(clientId, 'token_endpoint_auth_signing_alg is only used with private_key_jwt');
  }
  if (grants.includes('authorization_code') && redirectUris.length === 0) {
    throw fail(clientId, 'authorization_code needs at least one redirect URI');
  }
  if (
    grants.includes('refresh_token') &&
    !grants.includes('authorization_code') &&
    !grants.includes(DEVICE_CODE_GRANT)
  ) {
    throw fail(clientId, 'refresh_token is only issued with authorization_code or the device_code grant');
  }
  if (method === 'none') {
    for (const grant of ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'] as const) {
      if (grants.includes(grant)) throw fail(clientId, `a public client cannot use ${grant}`);
    }
  }
  return Object.freeze({
    client_id: clientId,
    client_secret: value.client_secret,
    client_name: value.client_name,
    redirect_uris: Object.freeze(redirectUris),
    post_logout_redirect_uris: Object.freeze(postLogout),
    grant_types: Object.freeze(grants),
    scopes: Object.freeze(scopes),
    audiences: Object.freeze(unique(value.audiences ?? [])),
    first_party: value.first_party ?? false,
    token_endpoint_auth_method: method,
    token_endpoint_auth_signing_alg: value.token_endpoint_auth_signing_alg,
    jwks: value.jwks,
    id_token_signed_response_alg: value.id_token_signed_response_alg ?? 'RS256',
    backchannel_logout_uri: value.backchannel_logout_uri,
    backchannel_logout_session_required: value.backchannel_logout_session_required ?? false,
    allowed_origins: Object.freeze(allowedOrigins),
    dpop_bound_access_tokens: value.dpop_bound_access_tokens ?? false,
    tls_client_auth_subject: tlsSubject,
    tls_client_certificate_bound_access_tokens: value.tls_client_certificate_bound_access_tokens ?? false,
    dpop_bound_subject_tokens: value.dpop_bound_subject_tokens ?? false,
  });
}
