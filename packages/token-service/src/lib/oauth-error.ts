import { isTesseraError, TesseraError, toNqschar } from '@tessera/core';

/**
 * The error codes the token service answers with (RFC 6749 5.2, RFC 8707, RFC 6750, OIDC Core
 * 3.1.2.6, RFC 9700), each with its default HTTP status. The README documents every one.
 */
export const oauthErrorCodes = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  unsupported_response_type: 400,
  access_denied: 400,
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  unsupported_token_type: 400,
  method_not_allowed: 405,
  not_found: 404,
  request_timeout: 408,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
} as const;

export type OAuthErrorCode = keyof typeof oauthErrorCodes;

/** What each code means, for the README and the registry test. */
export const oauthErrorMeanings: Readonly<Record<OAuthErrorCode, string>> = Object.freeze({
  invalid_request:
    'A parameter is missing, repeated, malformed or unsupported; the body is not a form, too large or unparsable.',
  invalid_client:
    'Client authentication failed (unknown client, wrong secret, bad assertion, no credentials).',
  invalid_grant:
    'The code, refresh token or subject token is invalid, expired, revoked or not for this client.',
  unauthorized_client:
    'The client is not registered for this grant type, or (at /revoke) the token was not issued to it.',
  unsupported_grant_type: 'The grant type is unknown or not offered (for example `password`).',
  invalid_scope: 'A requested scope is malformed or beyond what the client may ask.',
  invalid_target: 'A requested `resource` or `audience` is malformed or not permitted for the client.',
  unsupported_response_type: 'The response type is not `code`.',
  access_denied: 'The user or the server refused the request (at /token: the user denied the device).',
  authorization_pending:
    'Device grant: the user has not approved or denied the device yet; poll again after `interval` seconds.',
  slow_down: 'Device grant: polled sooner than `interval` allows; the interval has grown by 5 seconds.',
  expired_token: 'Device grant: the device code expired before the user approved it; start again.',
  login_required: '`prompt=none` was asked but the user is not signed in.',
  consent_required: '`prompt=none` was asked but consent is missing.',
  interaction_required: '`prompt=none` was asked but the user must interact.',
  request_not_supported: 'The `request` parameter is not supported.',
  request_uri_not_supported: 'The `request_uri` parameter is not supported.',
  invalid_token: 'The bearer token is missing, invalid, expired or revoked (RFC 6750).',
  insufficient_scope: 'The bearer token lacks a required scope (RFC 6750).',
  unsupported_token_type: 'The token type cannot be revoked or exchanged.',
  method_not_allowed: 'The HTTP method is not allowed on this endpoint (answered with `Allow`).',
  not_found: 'No such endpoint.',
  request_timeout: 'The request body did not arrive in time; the connection is closed.',
  server_error: 'An unexpected error; its detail is only in the log.',
  temporarily_unavailable: 'A store the service needs is unreachable; retry later.',
  invalid_dpop_proof:
    'The DPoP proof is missing (for a client registered `dpop_bound_access_tokens`), malformed, replayed or not for this request (RFC 9449).',
  use_dpop_nonce: 'The DPoP proof must carry the nonce sent in `DPoP-Nonce`; retry with it (RFC 9449 8).',
});

export interface OAuthErrorOptions {
  /** Defaults to the code's status. */
  readonly status?: number;
  /** For invalid_client (401): the `WWW-Authenticate` challenge; a Basic one is used when omitted. */
  readonly wwwAuthenticate?: string;
  /** For the log only; never sent. */
  readonly cause?: unknown;
  /** The answer closes the connection (a body refused before its end is not read further). */
  readonly closesConnection?: boolean;
}

// RFC 6749 5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.

/** Makes any text a valid `error_description`: forbidden characters become `?`, length capped. */
export function sanitizeDescription(text: string): string {
  return toNqschar(text, '?').slice(0, 300);
}

/**
 * An error with its RFC 6749 5.2 wire fields. The description is shown to the client, so it must
 * never contain a token, secret or password.
 */
export class OAuthError extends TesseraError<OAuthErrorCode> {
  readonly description: string | undefined;
  readonly wwwAuthenticate: string | undefined;
  readonly closesConnection: boolean;

  constructor(code: OAuthErrorCode, description?: string, options: OAuthErrorOptions = {}) {
    const status = options.status ?? oauthErrorCodes[code];
    super(code, description ?? code, {
      status,
      expose: code !== 'server_error' && code !== 'temporarily_unavailable',
      cause: options.cause,
    });
    this.description = description === undefined ? undefined : sanitizeDescription(description);
    this.wwwAuthenticate =
      options.wwwAuthenticate ?? (code === 'invalid_client' && status === 401 ? basicChallenge : undefined);
    this.closesConnection = options.closesConnection ?? false;
  }

  /** The RFC 6749 5.2 body. */
  body(): { error: OAuthErrorCode; error_description?: string } {
    return this.description === undefined
      ? { error: this.code }
      : { error: this.code, error_description: this.description };
  }
}

const basicChallenge = 'Basic realm="tessera", charset="UTF-8"';

/** Shorthands for the common cases, so call sites read like the spec. */
export const invalidRequest = (description: string): OAuthError =>
  new OAuthError('invalid_request', description);
export const invalidClient = (description = 'client authentication failed'): OAuthError =>
  new OAuthError('invalid_client', description);

interface FastifyLikeError {
  readonly code?: unknown;
  readonly statusCode?: unknown;
}

// Errors Fastify raises before a handler runs, all caused by what the client sent.
const fastifyClientErrors: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request body too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid content length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty JSON body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed JSON body',
  FST_ERR_CTP_INVALID_TYPE: 'invalid content type',
  FST_ERR_CTP_EMPTY_TYPE: 'empty content type',
  FST_ERR_BAD_URL: 'malformed URL',
  FST_ERR_VALIDATION: 'invalid request',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid request',
};

/**
 * Turns anything thrown into an OAuthError that may be sent: OAuth errors as they are; Fastify's own
 * client errors (body too large, bad content type, bad JSON, bad URL) as 400 invalid_request; a
 * store outage as 503; everything else as 500 server_error with no detail.
 */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (typeof error === 'object' && error !== null) {
    const { code, statusCode } = error as FastifyLikeError;
    if (typeof code === 'string' && code in fastifyClientErrors) {
      return new OAuthError('invalid_request', fastifyClientErrors[code], { cause: error });
    }
    // A JSON parse error from a parser that has no FST code still carries a 4xx statusCode.
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && !isTesseraError(error)) {
      return new OAuthError('invalid_request', 'malformed request', { cause: error });
    }
  }
  if (isTesseraError(error) && error.code === 'ERR_STORAGE_UNAVAILABLE') {
    return new OAuthError('temporarily_unavailable', undefined, { cause: error });
  }
  return new OAuthError('server_error', undefined, { cause: error });
}
