import {
  type ErrorCodes,
  type ErrorRegistry,
  errorFamily,
  errorRegistry,
  type TesseraErrorOptions,
} from '@tessera/core';
import table from './error-codes.json' with { type: 'json' };

/**
 * Failures of the user directory and of login. There is deliberately no "user disabled" or
 * "unknown user" code for login: an unknown user, a wrong password and a disabled account all
 * answer `ERR_CREDENTIALS_INVALID`, so the answer never tells whether an account exists (ASVS 6.3.1).
 */
export const identityErrorCodes: ErrorCodes<keyof typeof table.codes> = table.codes;

export type IdentityErrorCode = keyof typeof identityErrorCodes;

/** The misuse codes of the directory, the hasher and the rate limiter. */
export const identityMisuseCodes: Readonly<Record<keyof typeof table.misuse, string>> = table.misuse;

/** This package's codes. */
export const identityErrorRegistry: ErrorRegistry = errorRegistry(identityErrorCodes, identityMisuseCodes);

/** The only message `ERR_CREDENTIALS_INVALID` ever carries, whatever the reason. */
export const INVALID_CREDENTIALS_MESSAGE = 'invalid username or password';

export interface IdentityErrorOptions extends TesseraErrorOptions {
  /** For `ERR_LOGIN_RATE_LIMITED`: whole seconds until a retry may succeed (send as `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

export class IdentityError extends errorFamily(identityErrorCodes) {
  /** Set on `ERR_LOGIN_RATE_LIMITED` only: whole seconds, at least 1. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: IdentityErrorCode, message?: string, options: IdentityErrorOptions = {}) {
    const { retryAfterSeconds, headers = {}, ...rest } = options;
    super(code, message, {
      ...rest,
      headers:
        retryAfterSeconds === undefined ? headers : { ...headers, 'retry-after': String(retryAfterSeconds) },
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The one answer to every failed login. */
export function invalidCredentials(): IdentityError {
  return new IdentityError('ERR_CREDENTIALS_INVALID', INVALID_CREDENTIALS_MESSAGE);
}

export function loginRateLimited(retryAfterSeconds: number): IdentityError {
  return new IdentityError('ERR_LOGIN_RATE_LIMITED', 'too many failed logins; try again later', {
    retryAfterSeconds,
  });
}
