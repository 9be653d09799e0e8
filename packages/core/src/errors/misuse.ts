import type { MisuseCode } from './base.js';

/**
 * The misuse codes core defines, with what each means: the ones every package may throw
 * (`ERR_INVALID_OPTION`, `ERR_INVALID_USE`) and core's own. A package adds its own in its
 * misuse registry; no code is defined twice.
 */
export const coreMisuseCodes = {
  ERR_INVALID_OPTION: 'An option or argument is missing, of the wrong type or out of range.',
  ERR_INVALID_USE:
    'A function was called where it cannot work: on a request no adapter authenticated, or without the middleware it needs.',
  ERR_INVALID_ALGORITHM: 'A key was asked for an algorithm other than EdDSA, ES256 or RS256.',
  ERR_INVALID_URL: 'A DPoP proof was asked for a URL that is not absolute http(s).',
  ERR_INVALID_METHOD: 'A DPoP proof was asked for without the request method.',
  ERR_INVALID_KEY:
    'A JWK is not a usable key: no private part for signing, not asymmetric, RSA under 2048 bits, or a kid that is not its thumbprint.',
  ERR_INVALID_KEY_SET_OPERATION:
    'A key-set operation makes no sense: a kid already in the set, a second active key for one algorithm, no such key, no active key.',
  ERR_INVALID_CLAIM:
    'A claim given to sign is missing or malformed (an empty audience, a scope that is no scope-token).',
  ERR_INVALID_REVOCATION:
    'A revocation event is malformed: an unknown kind, an empty or overlong value, an expiry that is not a time.',
  ERR_INVALID_CONFIG_SCHEMA: 'loadConfig was given something other than a zod object schema.',
  ERR_INVALID_CONFIG_ENV_PREFIX: 'The environment prefix is not letters, digits and single underscores.',
} as const satisfies Record<MisuseCode, string>;

export type CoreMisuseCode = keyof typeof coreMisuseCodes;
