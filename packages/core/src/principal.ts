/** One hop of delegation (RFC 8693 section 4.1): who acts on behalf of the subject. */
export interface Actor {
  readonly subject: string;
  readonly clientId?: string;
  readonly issuer?: string;
}

/**
 * A token bound to a DPoP key (RFC 9449 6): the SHA-256 thumbprint of the key whose proofs must
 * come with it. Refused without such a proof.
 */
export interface DpopBinding {
  readonly type: 'dpop';
  /** `cnf.jkt`: the RFC 7638 thumbprint of the holder's key, base64url. */
  readonly jkt: string;
}

/**
 * A token bound to a client certificate (RFC 8705 3): only good on a TLS connection whose peer
 * certificate has this thumbprint.
 */
export interface CertificateBinding {
  readonly type: 'mtls';
  /** `cnf.x5t#S256`: the SHA-256 of the certificate's DER, base64url. */
  readonly x5tS256: string;
}

/** What a token is bound to (`cnf`, RFC 7800): a DPoP key or a client certificate. */
export type TokenBinding = DpopBinding | CertificateBinding;

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  /** `sub`: the user, or the client itself for client_credentials. */
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audience: readonly string[];
  readonly issuer: string;
  /** `jti`: the token's id, for revocation. */
  readonly tokenId: string;
  /** `exp` in epoch seconds. */
  readonly expiresAt: number;
  /** `iat` in epoch seconds. */
  readonly issuedAt: number;
  readonly sessionId?: string;
  /** `auth_time` in epoch seconds: when the user signed in. */
  readonly authTime?: number;
  /** The token's binding to its holder's key (`cnf`), when it has one. */
  readonly binding?: TokenBinding;
  /** The delegation chain from nested `act`, current actor first; empty when nobody delegates. */
  readonly actors: readonly Actor[];
  /** Every claim of the token as verified; read-only. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** True when the principal holds every scope named. */
export function hasScopes(principal: Principal, ...scopes: readonly string[]): boolean {
  return scopes.every((scope) => principal.scopes.includes(scope));
}
