import { TesseraError, type TesseraErrorOptions } from '@tessera/core';

/**
 * Failures of the user directory and of login. There is deliberately no "user disabled" or
 * "unknown user" code for login: an unknown user, a wrong password and a disabled account all
 * answer `invalid_credentials`, so the answer never tells whether an account exists (ASVS 6.3.1).
 */
export const identityErrorCodes = {
  invalid_credentials:
    'Login failed: the username is unknown, the password is wrong or the account is disabled (one answer for all).',
  login_rate_limited:
    'Too many failed logins for this username or from this address; retry after `retryAfterSeconds`.',
  user_exists: 'A user with this username (compared after NFKC and lower-casing) already exists.',
  user_not_found: 'No user has this id or username (administrative operations only, never login).',
  invalid_username:
    'The username is empty, longer than 64 characters, or contains whitespace or control characters.',
  invalid_password:
    'The new password is not a string, is shorter than the minimum length or longer than the maximum size.',
  invalid_claims: 'The claims are not an object of OpenID Connect standard claims with the right types.',
} as const;

export type IdentityErrorCode = keyof typeof identityErrorCodes;

const statusOf: Record<IdentityErrorCode, number> = {
  invalid_credentials: 401,
  login_rate_limited: 429,
  user_exists: 409,
  user_not_found: 404,
  invalid_username: 400,
  invalid_password: 400,
  invalid_claims: 400,
};

/** The only message `invalid_credentials` ever carries, whatever the reason. */
export const INVALID_CREDENTIALS_MESSAGE = 'invalid username or password';

export interface IdentityErrorOptions extends TesseraErrorOptions {
  /** For `login_rate_limited`: whole seconds until a retry may succeed (send as `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

export class IdentityError extends TesseraError<IdentityErrorCode> {
  /** Set on `login_rate_limited` only: whole seconds, at least 1. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: IdentityErrorCode, message: string, options: IdentityErrorOptions = {}) {
    const { retryAfterSeconds, ...rest } = options;
    super(code, message, { status: statusOf[code], ...rest });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The one answer to every failed login. */
export function invalidCredentials(): IdentityError {
  return new IdentityError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
}

export function loginRateLimited(retryAfterSeconds: number): IdentityError {
  return new IdentityError('login_rate_limited', 'too many failed logins; try again later', {
    retryAfterSeconds,
  });
}
