import type { TesseraErrorOptions } from './base.js';
import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/**
 * Why a request under DPoP (RFC 9449) was refused: a proof that does not hold, a proof for a key
 * the token is not bound to, or a bound token without its proof. Each code names the RFC error it
 * is answered with (`oauthError`); the status is the resource server's (401, RFC 9449 7.1), and a
 * token endpoint answers the same codes with 400 (RFC 9449 5).
 */
export const dpopErrorCodes: ErrorCodes<keyof typeof table.dpop> = table.dpop;

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
