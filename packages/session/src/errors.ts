import { TesseraError, type TesseraErrorOptions } from '@tessera/core';

/**
 * Why a session request failed. Codes are wire values (`{ "error": code }`), stable across
 * releases; the meanings here are what the README documents.
 */
export const sessionErrorCodes = {
  session_required:
    'The route needs a signed-in session and the request has none (no cookie, or an unknown, expired or malformed one).',
  session_not_found: 'The session ended (logged out, expired or destroyed) while the request was using it.',
  session_update_conflict:
    'Too many concurrent writes to one session: the update was retried and gave up; try again.',
  session_store_unavailable:
    'The session store did not answer in time or cannot be reached; the request fails closed.',
  csrf_token_invalid:
    'An unsafe method on a session-authenticated request carried no CSRF token, or a wrong one.',
  csrf_origin_mismatch:
    'An unsafe method on a session-authenticated request came from another origin (Origin or Sec-Fetch-Site).',
} as const;

export type SessionErrorCode = keyof typeof sessionErrorCodes;

const statusOf: Record<SessionErrorCode, number> = {
  session_required: 401,
  session_not_found: 401,
  session_update_conflict: 409,
  session_store_unavailable: 503,
  csrf_token_invalid: 403,
  csrf_origin_mismatch: 403,
};

export class SessionError extends TesseraError<SessionErrorCode> {
  constructor(
    code: SessionErrorCode,
    message: string = sessionErrorCodes[code],
    options: TesseraErrorOptions = {},
  ) {
    // Every session error is safe to describe to the client: the message never carries an id,
    // a token or a store detail (the store's own error stays in `cause`, for the log).
    super(code, message, { status: statusOf[code], expose: true, ...options });
  }
}

/** The JSON body of an error answer: `{ error, error_description }`, never a stack or a cause. */
export interface ErrorBody {
  readonly error: string;
  readonly error_description: string;
}

/** Turns any error into a status and a body safe to send; what is not ours becomes `server_error`. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof SessionError) {
    return {
      status: error.status,
      body: { error: error.code, error_description: sessionErrorCodes[error.code] },
    };
  }
  return { status: 500, body: { error: 'server_error', error_description: 'internal error' } };
}
