/**
 * Tables of migration 003 (grants, refresh tokens, grant access-token jtis, authorization codes),
 * merged into `TokenServiceDatabase`. Times are epoch ms (BIGINT: strings on PostgreSQL, read
 * through `Number`); lists are JSON text.
 */
export interface GrantsTable {
  /** Random id; also the refresh-token family. */
  id: string;
  user_id: string;
  client_id: string;
  scopes: string;
  audiences: string;
  sid: string | null;
  /** Epoch seconds: when the user signed in. */
  auth_time: number | string;
  created_at: number | string;
  /** The refresh family's absolute end (epoch ms). */
  expires_at: number | string;
  revoked_at: number | string | null;
}

export interface RefreshTokensTable {
  /** SHA-256 of the token, base64url. */
  token_hash: string;
  grant_id: string;
  created_at: number | string;
  /** Idle end (epoch ms): the token is refused after it even when the family lives on. */
  expires_at: number | string;
  /** Set once, by the conditional UPDATE that rotates it; a later use is reuse. */
  rotated_at: number | string | null;
  /** Migration 006: the successor token, sealed under a key derived from this one (reuse grace), or NULL. */
  successor: string | null;
  /** Migration 009: the DPoP key thumbprint a public client's refresh token is bound to, or NULL. */
  dpop_jkt: string | null;
  /** Migration 010: the certificate thumbprint a public client's refresh token is bound to, or NULL. */
  x5t_s256: string | null;
}

export interface GrantAccessTokensTable {
  jti: string;
  grant_id: string;
  /** Epoch seconds, the token's `exp`. */
  expires_at: number | string;
}

export interface AuthorizationCodesTable {
  /** SHA-256 of the code, base64url. */
  code_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string;
  /** The S256 challenge; null only for rows written without PKCE (never by /authorize today). */
  code_challenge: string | null;
  nonce: string | null;
  /** The DPoP key thumbprint the request named in `dpop_jkt` (RFC 9449 10); null: not bound. */
  dpop_jkt: string | null;
  expires_at: number | string;
  consumed_at: number | string | null;
}

export interface GrantsDatabase {
  oauth_grants: GrantsTable;
  oauth_refresh_tokens: RefreshTokensTable;
  oauth_grant_access_tokens: GrantAccessTokensTable;
  oauth_authorization_codes: AuthorizationCodesTable;
}
