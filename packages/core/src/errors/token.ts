import type { ErrorCodeEntry } from './base.js';
import { errorFamily } from './family.js';

/**
 * Why an access token was refused. Every code maps to 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` at a resource server (RFC 6750 3.1), except
 * ERR_JWKS_FETCH_FAILED: an unreachable issuer is a 503 whose detail is not shown.
 */
export const tokenErrorCodes = {
  ERR_JWT_MALFORMED: {
    status: 401,
    meaning: 'The token is not a compact JWS of three base64url parts with JSON object header and payload.',
  },
  ERR_JWT_TOO_LARGE: {
    status: 401,
    meaning: 'The token is longer than the allowed maximum (8 KiB by default).',
  },
  ERR_JWS_ALG_NONE: { status: 401, meaning: 'The header names the "none" algorithm (in any case).' },
  ERR_JWS_ALG_HMAC: {
    status: 401,
    meaning: 'The header names an HMAC algorithm: refused to prevent key confusion.',
  },
  ERR_JWS_ALG_NOT_ALLOWED: {
    status: 401,
    meaning: 'The header names an algorithm outside the allow-list or not bound to the key.',
  },
  ERR_JWS_HEADER_UNTRUSTED: {
    status: 401,
    meaning: 'The header carries jku, x5u, jwk or x5c: keys are never taken from a token.',
  },
  ERR_JWS_CRIT_UNSUPPORTED: {
    status: 401,
    meaning: 'The header has a crit parameter (or b64) this verifier does not understand.',
  },
  ERR_JWS_KID_INVALID: {
    status: 401,
    meaning: 'The header has no kid, or a kid that is not a short string.',
  },
  ERR_JWKS_NO_MATCHING_KEY: { status: 401, meaning: 'No key of the key set has the kid the token names.' },
  ERR_JWKS_FETCH_FAILED: {
    status: 503,
    meaning: 'The remote JWKS could not be fetched or is invalid (timeout, redirect, too large, not a JWKS).',
  },
  ERR_JWS_SIGNATURE_INVALID: {
    status: 401,
    meaning: 'The signature does not verify with the key the token names.',
  },
  ERR_JWT_TYP_INVALID: { status: 401, meaning: 'The header typ is not at+jwt (RFC 9068).' },
  ERR_JWT_CLAIM_INVALID: { status: 401, meaning: 'A required claim is missing or has the wrong type.' },
  ERR_JWT_EXPIRED: { status: 401, meaning: 'The token expired (exp is past, beyond the clock tolerance).' },
  ERR_JWT_NOT_YET_VALID: {
    status: 401,
    meaning: 'nbf or iat lies in the future beyond the clock tolerance.',
  },
  ERR_JWT_ISSUER_INVALID: { status: 401, meaning: 'iss is not exactly the expected issuer.' },
  ERR_JWT_AUDIENCE_INVALID: { status: 401, meaning: 'aud does not contain the expected audience.' },
  ERR_TOKEN_REVOKED: {
    status: 401,
    meaning: 'The token (its jti, subject, session or client) was revoked.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type TokenErrorCode = keyof typeof tokenErrorCodes;

// A JWKS outage is the server's problem, not the caller's: 503, and the detail stays in the log.
export class TokenError extends errorFamily(tokenErrorCodes) {}
