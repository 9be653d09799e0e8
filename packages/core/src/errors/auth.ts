import { TesseraError, type TesseraErrorOptions } from './base.js';

/** Failures of authentication and authorization as seen by a server (RFC 6750 section 3). */
export const authErrorCodes = {
  ERR_AUTH_REQUIRED: 'The request carries no credentials.',
  ERR_AUTH_INVALID_REQUEST: 'The credentials are sent in a malformed or ambiguous way.',
  ERR_AUTH_INSUFFICIENT_SCOPE: 'The credentials are valid but lack a required scope or permission.',
} as const;

export type AuthErrorCode = keyof typeof authErrorCodes;

const statusOf: Record<AuthErrorCode, number> = {
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_INVALID_REQUEST: 400,
  ERR_AUTH_INSUFFICIENT_SCOPE: 403,
};

export class AuthError extends TesseraError<AuthErrorCode> {
  constructor(code: AuthErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(code, message, { status: statusOf[code], ...options });
  }
}
