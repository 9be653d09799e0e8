import { type ErrorCodeEntry, type ErrorCodes, errorFamily } from '@tessera/core';
import table from '../error-codes.json' with { type: 'json' };

/**
 * The RFC 6749 5.2 `error` values the token service answers with (RFC 6749, RFC 8628, RFC 8693,
 * RFC 8707, OIDC Core 3.1.2.6), each with its default HTTP status and meaning. They are a protocol
 * field: the code of the error that carries one is `ERR_OAUTH_` and the value upper-cased.
 */
export const oauthErrors: ErrorCodes<keyof typeof table.oauth> = table.oauth;

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
