import { TesseraError, type TesseraErrorOptions } from '@tessera/core';

/**
 * Failures of the token service that are not OAuth protocol errors: a bad client registration
 * (the CLI and the seed file show the message), or a startup problem with the stored keys.
 */
export const tokenServiceErrorCodes = {
  ERR_CLIENT_REGISTRATION_INVALID:
    'A client registration breaks a rule (redirect URI, grant type, scope, audience, auth method, keys).',
  ERR_CLIENT_EXISTS: 'A client with this client_id is already registered.',
  ERR_CLIENT_NOT_FOUND: 'No client with this client_id is registered.',
  ERR_SIGNING_KEY_UNREADABLE:
    'A stored signing key cannot be decrypted (the service secret is not the one it was stored with) or is corrupt.',
  ERR_KEY_ROTATION_INVALID: 'A key rotation step has nothing to act on (no next key to promote).',
  ERR_KEY_ROTATION_TOO_SOON:
    'The next key was published too recently to sign: instances and verifiers may not have it yet.',
} as const;

export type TokenServiceErrorCode = keyof typeof tokenServiceErrorCodes;

const statusOf: Record<TokenServiceErrorCode, number> = {
  ERR_CLIENT_REGISTRATION_INVALID: 400,
  ERR_CLIENT_EXISTS: 409,
  ERR_CLIENT_NOT_FOUND: 404,
  ERR_SIGNING_KEY_UNREADABLE: 500,
  ERR_KEY_ROTATION_INVALID: 409,
  ERR_KEY_ROTATION_TOO_SOON: 409,
};

export class TokenServiceError extends TesseraError<TokenServiceErrorCode> {
  constructor(code: TokenServiceErrorCode, message: string, options: TesseraErrorOptions = {}) {
    // These messages are meant for an operator (CLI, startup log): they never carry a secret.
    super(code, message, { status: statusOf[code], expose: true, ...options });
  }
}
