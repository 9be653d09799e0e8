import type { TesseraErrorOptions } from './base.js';
import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/** Failures of authentication and authorization as seen by a server (RFC 6750 section 3). */
export const authErrorCodes: ErrorCodes<keyof typeof table.auth> = table.auth;

export type AuthErrorCode = keyof typeof authErrorCodes;

export interface AuthErrorOptions extends TesseraErrorOptions {
  /** The scopes the refused request needed: named in the `scope` of an insufficient_scope challenge. */
  readonly scope?: readonly string[];
}

export class AuthError extends errorFamily(authErrorCodes) {
  /** The scopes a token needs here (RFC 6750 3 `scope`); empty when the challenge names none. */
  readonly scope: readonly string[];

  constructor(code: AuthErrorCode, message?: string, options: AuthErrorOptions = {}) {
    const { scope = [], ...rest } = options;
    super(code, message, rest);
    this.scope = Object.freeze([...scope]);
  }
}
