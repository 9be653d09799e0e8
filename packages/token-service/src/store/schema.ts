import type { DeviceCodesTable } from './device-codes.js';
import type { GrantsDatabase } from './grant-schema.js';

/**
 * The token service's tables as Kysely sees them. A later migration that adds a table adds its
 * interface here too. Times are epoch milliseconds in BIGINT columns (PostgreSQL returns those as
 * strings, so repositories read them through `Number`); lists are JSON text, booleans 0/1, so one
 * schema serves SQLite and PostgreSQL.
 */
export interface ClientsTable {
  client_id: string;
  /** HMAC-SHA-256 of the secret under the service secret, base64url; null for public and private_key_jwt clients. */
  secret_hash: string | null;
  name: string | null;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  scopes: string;
  audiences: string;
  first_party: number;
  token_endpoint_auth_method: string;
  token_endpoint_auth_signing_alg: string | null;
  jwks: string | null;
  id_token_signed_response_alg: string;
  created_at: number | string;
  /** Migration 005. */
  backchannel_logout_uri: string | null;
  backchannel_logout_session_required: number;
  /** Migration 008: a JSON list of web origins (CORS). */
  allowed_origins: string;
  /** Migration 009: 1 when every access token of the client must be DPoP-bound. */
  dpop_bound_access_tokens: number;
  /** Migration 011: which RFC 8705 2.1.2 name a tls_client_auth client's subject is registered under. */
  tls_client_auth_field: string | null;
  tls_client_auth_value: string | null;
  /** Migration 011: 1 when the client's access tokens are bound to its certificate. */
  tls_client_certificate_bound_access_tokens: number;
  /** Migration 012: 1 when the client may exchange subject tokens bound to another key. */
  dpop_bound_subject_tokens: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  state: string;
  /** The private JWK, AES-256-GCM under a key derived from the service secret, the kid as AAD. */
  encrypted_jwk: string;
  created_at: number | string;
  retire_until: number | string | null;
}

/** Migration 004: the revocation list of access tokens, a row per revoked `jti`. */
export interface RevokedTokensTable {
  jti: string;
  /** Epoch ms: the token's exp. */
  until: number | string;
  revoked_at: number | string;
}

/** Migration 013: one row (id 1), raised by every write to `oauth_clients`. */
export interface ClientGenerationTable {
  id: number;
  generation: number | string;
}

/** Migration 013: which client each raise of the generation wrote (kept a day). */
export interface ClientChangesTable {
  generation: number | string;
  client_id: string;
  /** Epoch ms. */
  changed_at: number | string;
}

export interface TokenServiceDatabase extends GrantsDatabase {
  oauth_clients: ClientsTable;
  oauth_client_generation: ClientGenerationTable;
  oauth_client_changes: ClientChangesTable;
  oauth_signing_keys: SigningKeysTable;
  oauth_revoked_tokens: RevokedTokensTable;
  /** Migration 007. */
  oauth_device_codes: DeviceCodesTable;
}
