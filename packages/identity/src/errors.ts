import {
  type ErrorCodeEntry,
  type ErrorRegistry,
  errorFamily,
  errorRegistry,
  type MisuseCode,
  type TesseraErrorOptions,
} from '@tessera/core';

/**
 * Failures of the user directory and of login. There is deliberately no "user disabled" or
 * "unknown user" code for login: an unknown user, a wrong password and a disabled account all
 * answer `ERR_CREDENTIALS_INVALID`, so the answer never tells whether an account exists (ASVS 6.3.1).
 */
export const identityErrorCodes = {
  ERR_CREDENTIALS_INVALID: {
    status: 401,
    meaning:
      'Login failed: the username is unknown, the password is wrong or the account is disabled (one answer for all).',
  },
  ERR_LOGIN_RATE_LIMITED: {
    status: 429,
    meaning:
      "Too many failed logins for this username or from this address; retry after `retryAfterSeconds` (the answer's `Retry-After`).",
  },
  ERR_USER_EXISTS: {
    status: 409,
    meaning: 'A user with this username (compared after NFKC and lower-casing) already exists.',
  },
  ERR_USER_NOT_FOUND: {
    status: 404,
    meaning: 'No user has this id or username (administrative operations only, never login).',
  },
  ERR_USERNAME_INVALID: {
    status: 400,
    meaning:
      'The username is empty, longer than 64 characters, or contains whitespace or control characters.',
  },
  ERR_PASSWORD_POLICY: {
    status: 400,
    meaning:
      'The new password is not a string, is shorter than the minimum length or longer than the maximum size.',
  },
  ERR_CLAIMS_INVALID: {
    status: 400,
    meaning: 'The claims are not an object of OpenID Connect standard claims with the right types.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type IdentityErrorCode = keyof typeof identityErrorCodes;

/** The misuse codes of the directory, the hasher and the rate limiter. */
export const identityMisuseCodes = {
  ERR_INVALID_DIRECTORY_OPTIONS:
    'A UserDirectory option is wrong: db is not a Kysely database, or a time is out of range.',
  ERR_INVALID_LIST_OPTIONS: 'UserDirectory.list was given a limit that is not an integer from 1 to 1000.',
  ERR_INVALID_LISTENER: 'onUserDeactivated was given something other than a function.',
  ERR_INVALID_PASSWORD_OPTIONS: 'An argon2id parameter or password length bound is not an integer in range.',
  ERR_INVALID_RATE_LIMIT:
    'A LoginRateLimiter option is wrong: a count or time that is not a positive integer, maxLockMs under baseLockMs, no store.',
} as const satisfies Record<MisuseCode, string>;

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
