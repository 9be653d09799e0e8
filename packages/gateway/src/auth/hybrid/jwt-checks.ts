import { createHash, type KeyObject } from 'node:crypto';
import type { KeySource } from '@tessera/core';
import { compactVerify, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { GatewayError } from '../../errors.js';
import { signInFailed } from './failures.js';

/** The algorithms the gateway accepts on the token service's JWTs, whatever else it advertises. */
export const JWT_ALGORITHMS = ['RS256', 'EdDSA', 'ES256'];
export const CLOCK_TOLERANCE_SECONDS = 30;
// OpenID Connect Back-Channel Logout 1.0, 2.4.
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What a verified logout token asks to end. */
export interface LogoutClaims {
  readonly sub: string | undefined;
  readonly sid: string | undefined;
  readonly jti: string;
  /** Epoch ms after which the jti need not be remembered. */
  readonly expiresAt: number;
}

export interface JwtChecksOptions {
  /** The token service's keys: its JWKS, or keys in-process. */
  readonly keys: KeySource;
  /** The issuer discovery confirmed, exactly as configured. */
  readonly issuer: string;
  readonly clientId: string;
  readonly now: () => number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refusal(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_JWT_INVALID';
  return signInFailed(`the token failed verification (${reason})`);
}

// OpenID Connect Core 3.1.3.6: the left half of the access token's hash, by the ID token's alg.
function atHash(accessToken: string, alg: string): string {
  // Only RS256, ES256 (SHA-256) and EdDSA (SHA-512 for Ed25519) get this far: JWT_ALGORITHMS.
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken)
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * What the gateway checks itself of the two JWTs the token service sends it, against one key
 * source and the one issuer discovery confirmed. openid-client checks an ID token's claims (iss,
 * aud, exp, iat, sub, nonce, azp among several audiences) but, the token endpoint being reached
 * over TLS, not its signature; the gateway checks the signature anyway, with the same keys and
 * algorithms as logout tokens, which openid-client does not handle at all.
 */
export class JwtChecks {
  readonly #options: JwtChecksOptions;

  constructor(options: JwtChecksOptions) {
    this.#options = options;
  }

  /** A key of the token service for the header's kid and alg, refetched once if unknown. */
  readonly #key = async (header: {
    kid?: string | undefined;
    alg?: string | undefined;
  }): Promise<KeyObject> => {
    const { keys } = this.#options;
    const kid = header.kid;
    if (typeof kid !== 'string') throw signInFailed('the token names no key');
    let key = keys.get(kid);
    if (key === undefined && keys.refresh !== undefined) {
      await keys.refresh(kid).catch(() => undefined);
      key = keys.get(kid);
    }
    if (key === undefined) throw signInFailed('the token is signed with an unknown key');
    // A key verifies the one algorithm it was published for.
    if (key.alg !== header.alg) throw signInFailed('the token is signed with another algorithm than its key');
    return key.key;
  };

  /**
   * The rest of an ID token's checks once openid-client has passed its claims (OpenID Connect
   * Core 3.1.3.7): signed by the token service, typed as an ID token, issued to us (`azp`), and
   * bound to the access token it came with (`at_hash`).
   */
  async idToken(idToken: string, claims: JWTPayload, accessToken: string): Promise<void> {
    let header: { alg: string; typ?: string | undefined };
    try {
      ({ protectedHeader: header } = await compactVerify(idToken, this.#key, { algorithms: JWT_ALGORITHMS }));
    } catch (error) {
      throw refusal(error);
    }
    // An access token (at+jwt) or a logout token of the same issuer is never an ID token.
    if (header.typ !== undefined && header.typ.toLowerCase() !== 'jwt')
      throw signInFailed('the token is not an ID token');
    if (typeof claims.sub !== 'string' || claims.sub.length === 0)
      throw signInFailed('the ID token has no subject');
    if (claims.azp !== undefined && claims.azp !== this.#options.clientId)
      throw signInFailed('the ID token was issued to another party (azp)');
    if (claims.at_hash !== undefined && claims.at_hash !== atHash(accessToken, header.alg))
      throw signInFailed('the ID token does not match the access token (at_hash)');
  }

  /**
   * A logout token (Back-Channel Logout 1.0, 2.6): typ logout+jwt, our issuer and client, in date,
   * the back-channel logout event, a `sub` or a `sid`, a `jti`, and never a nonce.
   */
  async logoutToken(token: string): Promise<LogoutClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        issuer: this.#options.issuer,
        audience: this.#options.clientId,
        algorithms: JWT_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.#options.now()),
        // Back-Channel Logout 1.0 2.4 requires iat, exp and jti.
        requiredClaims: ['iat', 'exp', 'jti'],
        typ: 'logout+jwt',
      }));
    } catch (error) {
      throw refusal(error);
    }
    const event = isObject(payload.events) ? payload.events[BACKCHANNEL_EVENT] : undefined;
    if (!isObject(event)) throw signInFailed('the logout token has no back-channel logout event');
    if (payload.nonce !== undefined) throw signInFailed('a logout token never carries a nonce');
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
    if (sub === undefined && sid === undefined)
      throw signInFailed('the logout token names no subject or session');
    if (typeof payload.jti !== 'string' || payload.jti === '')
      throw signInFailed('the logout token has no jti');
    const expiresAt = (payload.exp as number) * 1000;
    return { sub, sid, jti: payload.jti, expiresAt };
  }
}
