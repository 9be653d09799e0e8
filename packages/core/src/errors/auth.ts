import type { ErrorCodeEntry, TesseraErrorOptions } from './base.js';
import { errorFamily } from './family.js';

/** Failures of authentication and authorization as seen by a server (RFC 6750 section 3). */
export const authErrorCodes = {
  ERR_AUTH_REQUIRED: { status: 401, meaning: 'The request carries no credentials.' },
  ERR_AUTH_INVALID_REQUEST: {
    status: 400,
    meaning: 'The credentials are sent in a malformed or ambiguous way.',
  },
  ERR_AUTH_INSUFFICIENT_SCOPE: {
    status: 403,
    meaning: 'The credentials are valid but lack a required scope or permission.',
  },
  ERR_MTLS_CERTIFICATE_REQUIRED: {
    status: 401,
    meaning:
      'A certificate-bound access token (cnf.x5t#S256) came over a connection with no client certificate.',
  },
  ERR_MTLS_CERTIFICATE_MISMATCH: {
    status: 401,
    meaning: "The connection's client certificate is not the one the access token is bound to.",
  },
  ERR_MTLS_TOKEN_NOT_BOUND: {
    status: 401,
    meaning: 'A resource that takes certificate-bound access tokens only got a token with no cnf.x5t#S256.',
  },
  ERR_METRICS_UNAUTHORIZED: {
    status: 401,
    meaning: 'GET /metrics needs the bearer token configured as metrics.bearerToken.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type AuthErrorCode = keyof typeof authErrorCodes;

export interface AuthErrorOptions extends TesseraErrorOptions {
  /** The scopes the refused request needed: named in the `scope` of an insufficient_scope challenge. */
  readonly scope?: readonly string[];
}

export class AuthError extends errorFamily(authErrorCodes) {
  /** The scopes a token needs here (RFC 6750 3 `scope`); empty when the challenge names none. */
  readonly scope: readonly string[];

  constructor(code: AuthErrorCode, message?: string, options: AuthErrorOptions = {}) {
    const { scope = [], ...rest } = options;
    super(code, message, rest);
    this.scope = Object.freeze([...scope]);
  }
}
