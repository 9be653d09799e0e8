import { TesseraTypeError } from '../errors/base.js';
import { isScopeToken } from '../oauth-syntax.js';
import type { Actor } from '../principal.js';

/** What an access token says, in the words of {@link Principal}. */
export interface AccessTokenClaims {
  readonly subject: string;
  readonly clientId: string;
  readonly audience: string | readonly string[];
  readonly scopes?: readonly string[];
  readonly sessionId?: string;
  /** Epoch seconds. */
  readonly authTime?: number;
  /** The delegation chain, current actor first; written as nested `act` (RFC 8693 4.1). */
  readonly actors?: readonly Actor[];
  /** The thumbprint of the DPoP key the token is bound to, written as `cnf.jkt` (RFC 9449 6.1). */
  readonly dpopJkt?: string;
  /**
   * The SHA-256 thumbprint of the client certificate the token is bound to, written as
   * `cnf.x5t#S256` (RFC 8705 3.1). A token is bound to one holder: not with `dpopJkt`.
   */
  readonly certificateThumbprint?: string;
}

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_CLAIM', message);
}

export function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw misuse(`${name} must be a non-empty string`);
  return value;
}

function actClaim(actors: readonly Actor[]): Record<string, unknown> | undefined {
  let act: Record<string, unknown> | undefined;
  // Built from the innermost (earliest) actor outwards, so the outermost act is the current actor.
  for (let i = actors.length - 1; i >= 0; i--) {
    const actor = actors[i] as Actor;
    const next: Record<string, unknown> = { sub: nonEmpty('actor subject', actor.subject) };
    if (actor.clientId !== undefined) next.client_id = nonEmpty('actor clientId', actor.clientId);
    if (actor.issuer !== undefined) next.iss = nonEmpty('actor issuer', actor.issuer);
    if (act !== undefined) next.act = act;
    act = next;
  }
  return act;
}

/**
 * The claims of an access token other than iss, iat, exp and jti (which the signer adds), checked
 * as programmer input: a bad claim is a TesseraTypeError, never a token.
 */
export function accessTokenPayload(claims: AccessTokenClaims): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    sub: nonEmpty('subject', claims.subject),
    client_id: nonEmpty('clientId', claims.clientId),
  };
  const audience = typeof claims.audience === 'string' ? [claims.audience] : [...claims.audience];
  if (audience.length === 0) throw misuse('audience must not be empty');
  for (const aud of audience) nonEmpty('audience', aud);
  if (claims.scopes !== undefined) {
    for (const scope of claims.scopes) {
      if (!isScopeToken(scope)) throw misuse('a scope must be an RFC 6749 scope-token');
    }
    payload.scope = claims.scopes.join(' ');
  }
  if (claims.sessionId !== undefined) payload.sid = nonEmpty('sessionId', claims.sessionId);
  if (claims.authTime !== undefined) {
    if (!Number.isSafeInteger(claims.authTime)) throw misuse('authTime must be epoch seconds');
    payload.auth_time = claims.authTime;
  }
  if (claims.dpopJkt !== undefined && claims.certificateThumbprint !== undefined) {
    throw misuse('a token is bound to a DPoP key or to a certificate, not both');
  }
  if (claims.dpopJkt !== undefined) {
    if (typeof claims.dpopJkt !== 'string' || !THUMBPRINT.test(claims.dpopJkt)) {
      throw misuse('dpopJkt must be a SHA-256 JWK thumbprint, base64url');
    }
    payload.cnf = { jkt: claims.dpopJkt };
  }
  if (claims.certificateThumbprint !== undefined) {
    if (typeof claims.certificateThumbprint !== 'string' || !THUMBPRINT.test(claims.certificateThumbprint)) {
      throw misuse('certificateThumbprint must be a SHA-256 certificate thumbprint, base64url');
    }
    payload.cnf = { 'x5t#S256': claims.certificateThumbprint };
  }
  const act = claims.actors === undefined ? undefined : actClaim(claims.actors);
  if (act !== undefined) payload.act = act;
  payload.aud = audience.length === 1 ? audience[0] : audience;
  return payload;
}
