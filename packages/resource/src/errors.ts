import { TesseraError, type TesseraErrorOptions } from '@tessera/core';

/**
 * Failures of this package that core's families do not name. Token failures keep core's
 * TokenError codes; missing or ambiguous credentials keep its AuthError codes.
 */
export const resourceErrorCodes = {
  ERR_TOKEN_REVOKED: 'The token (its jti, subject, session or client) was revoked.',
  ERR_SESSION_REFERENCE_INVALID: 'The session reference is malformed, forged or meant for another service.',
  ERR_SESSION_REFERENCE_EXPIRED: 'The session reference has expired.',
  ERR_SESSION_NOT_FOUND: 'The session the reference names has ended or never existed.',
  ERR_SESSION_STORE_UNAVAILABLE: 'The shared session store cannot be reached.',
  ERR_DISCOVERY_FAILED: 'The issuer metadata could not be fetched, names another issuer or has no jwks_uri.',
  ERR_UPSTREAM_TOKEN_FAILED: 'The token service refused or failed to issue a token for an outgoing call.',
  ERR_METRICS_UNAUTHORIZED: 'GET /metrics needs the bearer token configured as metrics.bearerToken.',
} as const;

export type ResourceErrorCode = keyof typeof resourceErrorCodes;

const statusOf: Record<ResourceErrorCode, number> = {
  ERR_TOKEN_REVOKED: 401,
  ERR_SESSION_REFERENCE_INVALID: 401,
  ERR_SESSION_REFERENCE_EXPIRED: 401,
  ERR_SESSION_NOT_FOUND: 401,
  ERR_SESSION_STORE_UNAVAILABLE: 503,
  ERR_DISCOVERY_FAILED: 503,
  ERR_UPSTREAM_TOKEN_FAILED: 502,
  ERR_METRICS_UNAUTHORIZED: 401,
};

export class ResourceError extends TesseraError<ResourceErrorCode> {
  constructor(
    code: ResourceErrorCode,
    message: string = resourceErrorCodes[code],
    options: TesseraErrorOptions = {},
  ) {
    super(code, message, { status: statusOf[code], ...options });
  }
}
