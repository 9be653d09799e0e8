import { type ErrorCodes, type ErrorRegistry, errorFamily, errorRegistry } from '@tessera/core';
import table from './error-codes.json' with { type: 'json' };
import { oauthErrorCodes } from './lib/oauth-error.js';

/**
 * Failures of the token service that are not OAuth protocol errors: a bad client registration
 * (the CLI and the seed file show the message), or a startup problem with the stored keys.
 */
export const tokenServiceErrorCodes: ErrorCodes<keyof typeof table.codes> = table.codes;

export type TokenServiceErrorCode = keyof typeof tokenServiceErrorCodes;

/** The misuse codes of the service's options and seed. */
export const tokenServiceMisuseCodes: Readonly<Record<keyof typeof table.misuse, string>> = table.misuse;

/** This package's codes: the OAuth ones (`ERR_OAUTH_*`), the operator ones and the misuse ones. */
export const tokenServiceErrorRegistry: ErrorRegistry = errorRegistry(
  { ...oauthErrorCodes, ...tokenServiceErrorCodes },
  tokenServiceMisuseCodes,
);

// These messages are meant for an operator (CLI, startup log): they never carry a secret.
export class TokenServiceError extends errorFamily(tokenServiceErrorCodes, { expose: true }) {}
