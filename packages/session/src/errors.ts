import {
  type ErrorCodeEntry,
  type ErrorRegistry,
  errorFamily,
  errorRegistry,
  type MisuseCode,
} from '@tessera/core';

/** Why a session request failed; the meanings are what the README documents. */
export const sessionErrorCodes = {
  ERR_SESSION_REQUIRED: {
    status: 401,
    meaning:
      'The route needs a signed-in session and the request has none (no cookie, or an unknown, expired or malformed one).',
  },
  ERR_SESSION_NOT_FOUND: {
    status: 401,
    meaning:
      'The session ended (logged out, expired or destroyed) while the request was using it, or the one a session reference names is gone.',
  },
  ERR_SESSION_UPDATE_CONFLICT: {
    status: 409,
    meaning: 'Too many concurrent writes to one session: the update was retried and gave up; try again.',
  },
  ERR_SESSION_STORE_UNAVAILABLE: {
    status: 503,
    meaning: 'The session store did not answer in time or cannot be reached; the request fails closed.',
  },
  ERR_CSRF_TOKEN_INVALID: {
    status: 403,
    meaning: 'An unsafe method on a session-authenticated request carried no CSRF token, or a wrong one.',
  },
  ERR_CSRF_ORIGIN_MISMATCH: {
    status: 403,
    meaning:
      'An unsafe method on a session-authenticated request came from another origin (Origin or Sec-Fetch-Site).',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type SessionErrorCode = keyof typeof sessionErrorCodes;

/** The misuse codes of the manager and its adapters. */
export const sessionMisuseCodes = {
  ERR_INVALID_SESSION_OPTION: 'A session manager option is missing, of the wrong type or out of range.',
  ERR_INVALID_USER_ID: 'A session was created for a user id that is not a string of 1 to 512 characters.',
  ERR_INVALID_SESSION_DATA: 'Session data is not a plain object.',
  ERR_INVALID_SESSION:
    'A value that is not a session made by a session manager was given where one is needed.',
} as const satisfies Record<MisuseCode, string>;

/** This package's codes. */
export const sessionErrorRegistry: ErrorRegistry = errorRegistry(sessionErrorCodes, sessionMisuseCodes);

// Every session error is safe to describe to the client: the message never carries an id,
// a token or a store detail (the store's own error stays in `cause`, for the log).
export class SessionError extends errorFamily(sessionErrorCodes, { expose: true }) {}
