import type { ErrorCodeEntry, TesseraErrorOptions } from './base.js';
import { errorFamily } from './family.js';

/**
 * Why a request under DPoP (RFC 9449) was refused: a proof that does not hold, a proof for a key
 * the token is not bound to, or a bound token without its proof. Each code names the RFC error it
 * is answered with (`oauthError`); the status is the resource server's (401, RFC 9449 7.1), and a
 * token endpoint answers the same codes with 400 (RFC 9449 5).
 */
export const dpopErrorCodes = {
  ERR_DPOP_PROOF_MISSING: {
    status: 401,
    meaning: 'The request carries no DPoP proof where one is required.',
  },
  ERR_DPOP_PROOF_MALFORMED: {
    status: 401,
    meaning:
      'The DPoP header is repeated, too long, or not a compact JWS with a JSON object header and payload.',
  },
  ERR_DPOP_TYP_INVALID: { status: 401, meaning: 'The proof header typ is not dpop+jwt.' },
  ERR_DPOP_ALG_NOT_ALLOWED: {
    status: 401,
    meaning:
      'The proof names none, an HMAC, an algorithm outside the allow-list, or one that does not fit its key.',
  },
  ERR_DPOP_JWK_INVALID: {
    status: 401,
    meaning: 'The proof header has no jwk, a jwk with private members, or a key that cannot verify.',
  },
  ERR_DPOP_SIGNATURE_INVALID: {
    status: 401,
    meaning: 'The proof signature does not verify with the key in its header.',
  },
  ERR_DPOP_CLAIM_INVALID: {
    status: 401,
    meaning: 'A claim of the proof (jti, htm, htu, iat) is missing or has the wrong type.',
  },
  ERR_DPOP_METHOD_MISMATCH: { status: 401, meaning: 'htm is not the method of the request.' },
  ERR_DPOP_URL_MISMATCH: {
    status: 401,
    meaning: 'htu is not the URL of the request (scheme, host, port and path).',
  },
  ERR_DPOP_IAT_OUT_OF_WINDOW: {
    status: 401,
    meaning: 'iat lies further in the past or the future than the proof window.',
  },
  ERR_DPOP_ATH_MISMATCH: {
    status: 401,
    meaning: 'ath is missing or is not the hash of the access token sent with the proof.',
  },
  ERR_DPOP_REPLAYED: {
    status: 401,
    meaning: 'A proof with this jti and key was already used within the window.',
  },
  ERR_DPOP_NONCE_REQUIRED: {
    status: 401,
    meaning: 'The proof has no nonce, or one the server no longer accepts.',
  },
  ERR_DPOP_KEY_MISMATCH: {
    status: 401,
    meaning: 'The proof is signed by another key than the one the access token is bound to.',
  },
  ERR_DPOP_TOKEN_NOT_BOUND: {
    status: 401,
    meaning: 'An access token without cnf.jkt was sent under the DPoP scheme.',
  },
  ERR_DPOP_BOUND_TOKEN_AS_BEARER: {
    status: 401,
    meaning: 'A DPoP-bound access token was sent as a bearer token.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type DpopErrorCode = keyof typeof dpopErrorCodes;

/** The RFC 9449 error codes (7.1, 8, 12.2), and RFC 6750's for a token that is not usable so. */
export type DpopOAuthError = 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token';

const oauthErrorOf = (code: DpopErrorCode): DpopOAuthError => {
  if (code === 'ERR_DPOP_NONCE_REQUIRED') return 'use_dpop_nonce';
  if (
    code === 'ERR_DPOP_KEY_MISMATCH' ||
    code === 'ERR_DPOP_TOKEN_NOT_BOUND' ||
    code === 'ERR_DPOP_BOUND_TOKEN_AS_BEARER'
  ) {
    return 'invalid_token';
  }
  return 'invalid_dpop_proof';
};

export class DpopError extends errorFamily(dpopErrorCodes) {
  /** The error code of the answer: `invalid_dpop_proof`, `use_dpop_nonce` or `invalid_token`. */
  readonly oauthError: DpopOAuthError;

  constructor(code: DpopErrorCode, message?: string, options: TesseraErrorOptions = {}) {
    super(code, message, options);
    this.oauthError = oauthErrorOf(code);
  }
}
