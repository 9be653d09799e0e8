import {
  type ErrorCodeEntry,
  type ErrorRegistry,
  errorFamily,
  errorRegistry,
  type MisuseCode,
} from '@tessera/core';
import { oauthErrorCodes } from './lib/oauth-error.js';

/**
 * Failures of the token service that are not OAuth protocol errors: a bad client registration
 * (the CLI and the seed file show the message), or a startup problem with the stored keys.
 */
export const tokenServiceErrorCodes = {
  ERR_CLIENT_REGISTRATION_INVALID: {
    status: 400,
    meaning:
      'A client registration breaks a rule (redirect URI, grant type, scope, audience, auth method, keys).',
  },
  ERR_CLIENT_EXISTS: { status: 409, meaning: 'A client with this client_id is already registered.' },
  ERR_CLIENT_NOT_FOUND: { status: 404, meaning: 'No client with this client_id is registered.' },
  ERR_SIGNING_KEY_UNREADABLE: {
    status: 500,
    meaning:
      'A stored signing key cannot be decrypted (the service secret is not the one it was stored with) or is corrupt.',
  },
  ERR_KEY_ROTATION_INVALID: {
    status: 409,
    meaning: 'A key rotation step has nothing to act on (no next key to promote).',
  },
  ERR_KEY_ROTATION_TOO_SOON: {
    status: 409,
    meaning: 'The next key was published too recently to sign: instances and verifiers may not have it yet.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type TokenServiceErrorCode = keyof typeof tokenServiceErrorCodes;

/** The misuse codes of the service's options and seed. */
export const tokenServiceMisuseCodes = {
  ERR_INVALID_TOKEN_SERVICE_OPTIONS:
    'A createTokenService option is missing, of the wrong type or insecure (an issuer that is not https, a short secret).',
  ERR_INVALID_SEED_OPTIONS: 'applySeed was given a seed with users but no user directory.',
} as const satisfies Record<MisuseCode, string>;

/** This package's codes: the OAuth ones (`ERR_OAUTH_*`), the operator ones and the misuse ones. */
export const tokenServiceErrorRegistry: ErrorRegistry = errorRegistry(
  { ...oauthErrorCodes, ...tokenServiceErrorCodes },
  tokenServiceMisuseCodes,
);

// These messages are meant for an operator (CLI, startup log): they never carry a secret.
export class TokenServiceError extends errorFamily(tokenServiceErrorCodes, { expose: true }) {}
