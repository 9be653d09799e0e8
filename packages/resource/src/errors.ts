import { type ErrorCodes, type ErrorRegistry, errorFamily, errorRegistry } from '@tessera/core';
import table from './error-codes.json' with { type: 'json' };

/**
 * Failures of this package that no other family names. Token failures (a revoked token
 * included) keep core's TokenError codes, missing or ambiguous credentials its AuthError codes,
 * and a session that is gone or a session store that is down the session package's codes.
 */
export const resourceErrorCodes: ErrorCodes<keyof typeof table.codes> = table.codes;

export type ResourceErrorCode = keyof typeof resourceErrorCodes;

/** The misuse codes of the policies (the adapters' misuse is core's ERR_INVALID_OPTION and ERR_INVALID_USE). */
export const resourceMisuseCodes: Readonly<Record<keyof typeof table.misuse, string>> = table.misuse;

/** This package's codes. */
export const resourceErrorRegistry: ErrorRegistry = errorRegistry(resourceErrorCodes, resourceMisuseCodes);

export class ResourceError extends errorFamily(resourceErrorCodes) {}
