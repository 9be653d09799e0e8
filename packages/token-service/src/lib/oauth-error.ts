import { type ErrorCodeEntry, errorFamily } from '@tessera/core';

/**
 * The RFC 6749 5.2 `error` values the token service answers with (RFC 6749, RFC 8628, RFC 8693,
 * RFC 8707, OIDC Core 3.1.2.6), each with its default HTTP status and meaning. They are a protocol
 * field: the code of the error that carries one is `ERR_OAUTH_` and the value upper-cased.
 */
export const oauthErrors = {
  invalid_request: {
    status: 400,
    meaning: 'A parameter is missing, repeated, malformed or unsupported, or the body is not a usable form.',
  },
  invalid_client: {
    status: 401,
    meaning: 'Client authentication failed (unknown client, wrong secret, bad assertion, no credentials).',
  },
  invalid_grant: {
    status: 400,
    meaning: 'The code, refresh token or subject token is invalid, expired, revoked or not for this client.',
  },
  unauthorized_client: {
    status: 400,
    meaning:
      'The client is not registered for this grant type, or (at /revoke) the token was not issued to it.',
  },
  unsupported_grant_type: {
    status: 400,
    meaning: 'The grant type is unknown or not offered (for example `password`).',
  },
  invalid_scope: {
    status: 400,
    meaning: 'A requested scope is malformed or beyond what the client may ask.',
  },
  invalid_target: {
    status: 400,
    meaning: 'A requested `resource` or `audience` is malformed or not permitted for the client.',
  },
  unsupported_response_type: { status: 400, meaning: 'The response type is not `code`.' },
  access_denied: {
    status: 400,
    meaning: 'The user or the server refused the request (at /token: the user denied the device).',
  },
  authorization_pending: {
    status: 400,
    meaning:
      'Device grant: the user has not approved or denied the device yet; poll again after `interval` seconds.',
  },
  slow_down: {
    status: 400,
    meaning: 'Device grant: polled sooner than `interval` allows; the interval has grown by 5 seconds.',
  },
  expired_token: {
    status: 400,
    meaning: 'Device grant: the device code expired before the user approved it; start again.',
  },
  login_required: { status: 400, meaning: '`prompt=none` was asked but the user is not signed in.' },
  consent_required: { status: 400, meaning: '`prompt=none` was asked but consent is missing.' },
  interaction_required: { status: 400, meaning: '`prompt=none` was asked but the user must interact.' },
  request_not_supported: { status: 400, meaning: 'The `request` parameter is not supported.' },
  request_uri_not_supported: { status: 400, meaning: 'The `request_uri` parameter is not supported.' },
  unsupported_token_type: { status: 400, meaning: 'The token type cannot be revoked or exchanged.' },
  server_error: { status: 500, meaning: 'An unexpected error; its detail is only in the log.' },
  temporarily_unavailable: { status: 503, meaning: 'A store the service needs is unreachable; retry later.' },
  invalid_dpop_proof: {
    status: 400,
    meaning:
      'The DPoP proof is missing (for a client registered `dpop_bound_access_tokens`), malformed, replayed or not for this request (RFC 9449).',
  },
  use_dpop_nonce: {
    status: 400,
    meaning: 'The DPoP proof must carry the nonce sent in `DPoP-Nonce`; retry with it (RFC 9449 8).',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

/** An RFC 6749 5.2 `error` value this service sends. */
export type OAuthWireError = keyof typeof oauthErrors;

/** The code of an OAuthError: `ERR_OAUTH_INVALID_GRANT` for `invalid_grant`. */
export type OAuthErrorCode = `ERR_OAUTH_${Uppercase<OAuthWireError>}`;

/** The code that carries an `error` value. */
export function oauthCodeOf(error: OAuthWireError): OAuthErrorCode {
  return `ERR_OAUTH_${error.toUpperCase()}` as OAuthErrorCode;
}

/** The registry of OAuth codes, each with its status and meaning, as core's registries are. */
export const oauthErrorCodes: Readonly<Record<OAuthErrorCode, ErrorCodeEntry>> = Object.freeze(
  Object.fromEntries(
    Object.entries(oauthErrors).map(([error, entry]) => [oauthCodeOf(error as OAuthWireError), entry]),
  ) as Record<OAuthErrorCode, ErrorCodeEntry>,
);

export interface OAuthErrorOptions {
  /** For the log only; never sent. */
  readonly cause?: unknown;
  /** Headers the answer carries besides the protocol's (never a secret). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An error with its RFC 6749 5.2 wire fields, answered by core's `answerFor(error, 'oauth')`. The
 * description is shown to the client, so it must never contain a token, secret or password.
 */
export class OAuthError extends errorFamily(oauthErrorCodes) {
  /** The RFC 6749 5.2 `error` value. */
  readonly oauthError: OAuthWireError;
  /** The `error_description`, if any (core's answer makes it RFC 6749's charset). */
  readonly description: string | undefined;

  constructor(error: OAuthWireError, description?: string, options: OAuthErrorOptions = {}) {
    super(oauthCodeOf(error), description ?? error, {
      expose: error !== 'server_error' && error !== 'temporarily_unavailable',
      ...options,
    });
    this.oauthError = error;
    this.description = description;
  }
}

/** Shorthands for the common cases, so call sites read like the spec. */
export const invalidRequest = (description: string): OAuthError =>
  new OAuthError('invalid_request', description);
export const invalidClient = (description = 'client authentication failed'): OAuthError =>
  new OAuthError('invalid_client', description);
