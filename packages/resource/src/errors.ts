import {
  type ErrorCodeEntry,
  type ErrorRegistry,
  errorFamily,
  errorRegistry,
  type MisuseCode,
} from '@tessera/core';

/**
 * Failures of this package that no other family names. Token failures (a revoked token
 * included) keep core's TokenError codes, missing or ambiguous credentials its AuthError codes,
 * and a session that is gone or a session store that is down the session package's codes.
 */
export const resourceErrorCodes = {
  ERR_SESSION_REFERENCE_INVALID: {
    status: 401,
    meaning: 'The session reference is malformed, forged or meant for another service.',
  },
  ERR_SESSION_REFERENCE_EXPIRED: { status: 401, meaning: 'The session reference has expired.' },
  ERR_DISCOVERY_FAILED: {
    status: 503,
    meaning: 'The issuer metadata could not be fetched, names another issuer or has no jwks_uri.',
  },
  ERR_UPSTREAM_TOKEN_FAILED: {
    status: 502,
    meaning: 'The token service refused or failed to issue a token for an outgoing call.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ResourceErrorCode = keyof typeof resourceErrorCodes;

/** The misuse codes of the policies (the adapters' misuse is core's ERR_INVALID_OPTION and ERR_INVALID_USE). */
export const resourceMisuseCodes = {
  ERR_INVALID_POLICY:
    'A policy was built with nothing to check (no scope, audience, client id or via), or with a scope that is not a scope-token.',
} as const satisfies Record<MisuseCode, string>;

/** This package's codes. */
export const resourceErrorRegistry: ErrorRegistry = errorRegistry(resourceErrorCodes, resourceMisuseCodes);

export class ResourceError extends errorFamily(resourceErrorCodes) {}
