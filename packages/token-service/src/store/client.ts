import type { SigningAlgorithm } from '@tessera/core';
import type { JSONWebKeySet } from 'jose';

export const grantTypes = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:device_code',
] as const;

/** RFC 8628 3.4: the device authorization grant's `grant_type`. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export type GrantType = (typeof grantTypes)[number];

export const tokenEndpointAuthMethods = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  // RFC 8705 2.1 and 2.2: the client proves itself by its certificate in the TLS handshake.
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
] as const;

/**
 * RFC 8705 2.1.2: the one registration field that names what a `tls_client_auth` client's
 * certificate must hold: its subject DN, or one of its subjectAltName entries.
 */
export const tlsClientAuthFields = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;

export type TlsClientAuthField = (typeof tlsClientAuthFields)[number];

/** What a tls_client_auth client's certificate must carry: one field and its expected value. */
export interface TlsClientAuthSubject {
  readonly field: TlsClientAuthField;
  readonly value: string;
}

export type TokenEndpointAuthMethod = (typeof tokenEndpointAuthMethods)[number];

/**
 * Algorithms a private_key_jwt assertion may be signed with (never HMAC, never none). `Ed25519`
 * is the fully-specified name of EdDSA on Ed25519 (RFC 9864) that current clients send.
 */
export const clientAssertionAlgorithms = ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'] as const;
export type ClientAssertionAlgorithm = (typeof clientAssertionAlgorithms)[number];

/**
 * The metadata a client is kept with, after validation and defaults, named after RFC 7591: what a
 * stored `Client` and a `ValidRegistration` (on its way to the store) have in common.
 */
export interface ClientMetadata {
  readonly client_id: string;
  readonly client_name: string | undefined;
  readonly redirect_uris: readonly string[];
  readonly post_logout_redirect_uris: readonly string[];
  readonly grant_types: readonly GrantType[];
  readonly scopes: readonly string[];
  /** The default `aud` of its access tokens, and every audience it may ask for or exchange to. */
  readonly audiences: readonly string[];
  /** Consent is skipped for a first-party client. */
  readonly first_party: boolean;
  readonly token_endpoint_auth_method: TokenEndpointAuthMethod;
  /** For private_key_jwt: the one algorithm its assertions must use, when registered. */
  readonly token_endpoint_auth_signing_alg: ClientAssertionAlgorithm | undefined;
  /** For private_key_jwt: its public keys. */
  readonly jwks: JSONWebKeySet | undefined;
  readonly id_token_signed_response_alg: SigningAlgorithm;
  /** OpenID Connect Back-Channel Logout 1.0: where Logout Tokens are POSTed, when registered. */
  readonly backchannel_logout_uri: string | undefined;
  /** Whether the client needs `sid` in its Logout Tokens (it is sent whenever known anyway). */
  readonly backchannel_logout_session_required: boolean;
  /** Web origins its browser application runs at: CORS is answered for these only. */
  readonly allowed_origins: readonly string[];
  /** RFC 9449 5.2: every token request must carry a DPoP proof, so every access token is bound. */
  readonly dpop_bound_access_tokens: boolean;
  /** RFC 8705 2.1.2: for tls_client_auth, what its certificate must carry. */
  readonly tls_client_auth_subject: TlsClientAuthSubject | undefined;
  /** RFC 8705 3.4: every access token is bound to the client certificate of its request. */
  readonly tls_client_certificate_bound_access_tokens: boolean;
  /**
   * Token exchange (RFC 8693) of a subject token bound to another key than this client's proof:
   * the client is trusted to have checked that key's proof when the token reached it.
   */
  readonly dpop_bound_subject_tokens: boolean;
}

/** A registered client. `secret_hash` is the HMAC of the secret; the secret itself is never kept. */
export interface Client extends ClientMetadata {
  readonly secret_hash: string | undefined;
  /** Epoch ms. */
  readonly created_at: number;
}

/** True for a client that holds no credential (token_endpoint_auth_method `none`). */
export function isPublicClient(client: Client): boolean {
  return client.token_endpoint_auth_method === 'none';
}
