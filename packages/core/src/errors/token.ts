import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/**
 * Why an access token was refused. Every code maps to 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` at a resource server (RFC 6750 3.1), except
 * ERR_JWKS_FETCH_FAILED: an unreachable issuer is a 503 whose detail is not shown.
 */
export const tokenErrorCodes: ErrorCodes<keyof typeof table.token> = table.token;

export type TokenErrorCode = keyof typeof tokenErrorCodes;

// A JWKS outage is the server's problem, not the caller's: 503, and the detail stays in the log.
export class TokenError extends errorFamily(tokenErrorCodes) {}
