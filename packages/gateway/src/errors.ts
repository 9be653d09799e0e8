import { type ErrorCodeEntry, type ErrorRegistry, errorFamily, errorRegistry } from '@tessera/core';

/**
 * Failures the gateway itself answers. What every listener refuses (no route, a body too large or
 * too slow, a malformed request) is core's `ERR_HTTP_*`; auth failures keep core's, resource's,
 * session's and identity's codes.
 */
export const gatewayErrorCodes = {
  ERR_UPSTREAM_UNAVAILABLE: {
    status: 502,
    meaning: 'The upstream could not be reached or broke the connection.',
  },
  ERR_UPSTREAM_TIMEOUT: { status: 504, meaning: 'The upstream did not answer in time.' },
  ERR_TOO_MANY_IN_FLIGHT: {
    status: 429,
    meaning:
      'This client address has too many requests in flight; retry when some have been answered (`Retry-After: 1`).',
  },
  ERR_SIGN_IN_FAILED: {
    status: 400,
    meaning:
      'The sign-in through the token service could not be completed (expired, replayed, refused or unverifiable); start again.',
  },
  ERR_TOKEN_SERVICE_UNAVAILABLE: {
    status: 503,
    meaning: 'The token service could not be reached or gave no usable answer; try again.',
  },
  ERR_TOKEN_EXCHANGE_FAILED: {
    status: 502,
    meaning:
      'The token service would not exchange the token for the upstream (RFC 8693): it is not meant for this gateway, revoked, or asks too much.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type GatewayErrorCode = keyof typeof gatewayErrorCodes;

/** This package's codes (its misuse is core's `ERR_INVALID_OPTION`). */
export const gatewayErrorRegistry: ErrorRegistry = errorRegistry(gatewayErrorCodes);

// Every message of this family is written for the client (the detail of a cause is not). A request
// over its address's bound is not read: the connection closes after the answer, so a client over
// its bound holds one connection fewer.
export class GatewayError extends errorFamily(gatewayErrorCodes, {
  expose: true,
  headers: { ERR_TOO_MANY_IN_FLIGHT: { connection: 'close', 'retry-after': '1' } },
}) {}
