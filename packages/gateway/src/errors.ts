import { type ErrorCodes, type ErrorRegistry, errorFamily, errorRegistry } from '@tessera/core';
import table from './error-codes.json' with { type: 'json' };

/**
 * Failures the gateway itself answers. What every listener refuses (no route, a body too large or
 * too slow, a malformed request) is core's `ERR_HTTP_*`; auth failures keep core's, resource's,
 * session's and identity's codes.
 */
export const gatewayErrorCodes: ErrorCodes<keyof typeof table.codes> = table.codes;

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
