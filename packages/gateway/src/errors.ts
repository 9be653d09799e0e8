import { TesseraError, type TesseraErrorOptions } from '@tessera/core';

/** Failures the gateway itself answers; auth failures keep core's, resource's and session's codes. */
export const gatewayErrorCodes = {
  not_found: 'No route of the gateway matches the request path.',
  upstream_unavailable: 'The upstream could not be reached or broke the connection.',
  upstream_timeout: 'The upstream did not answer in time.',
  invalid_request: 'The request is malformed or carries credentials in an ambiguous way.',
  unsupported_media_type: 'The body is neither JSON nor an HTML form.',
  payload_too_large: 'The request body is larger than the gateway accepts.',
  request_timeout: 'The request body did not arrive in time.',
  too_many_requests:
    'This client address has too many requests in flight; retry when some have been answered.',
  server_error: 'Something failed inside the gateway; the detail is in its log.',
  sign_in_failed:
    'The sign-in through the token service could not be completed (expired, replayed, refused or unverifiable); start again.',
  token_service_unavailable: 'The token service could not be reached or gave no usable answer; try again.',
  token_exchange_failed:
    'The token service would not exchange the token for the upstream (RFC 8693): it is not meant for this gateway, revoked, or asks too much.',
  metrics_unauthorized: 'GET /metrics needs the bearer token configured as metrics.bearerToken.',
} as const;

export type GatewayErrorCode = keyof typeof gatewayErrorCodes;

const statusOf: Record<GatewayErrorCode, number> = {
  not_found: 404,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  invalid_request: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  request_timeout: 408,
  too_many_requests: 429,
  server_error: 500,
  sign_in_failed: 400,
  token_service_unavailable: 503,
  token_exchange_failed: 502,
  metrics_unauthorized: 401,
};

export class GatewayError extends TesseraError<GatewayErrorCode> {
  constructor(
    code: GatewayErrorCode,
    message: string = gatewayErrorCodes[code],
    options: TesseraErrorOptions = {},
  ) {
    super(code, message, { status: statusOf[code], ...options });
  }
}

/** The JSON body of every answer the gateway makes itself. */
export interface ErrorBody {
  readonly error: string;
  readonly error_description: string;
}
