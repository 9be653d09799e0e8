import { authErrorCodes } from './auth.js';
import type { ErrorCodeEntry, MisuseCode } from './base.js';
import { configErrorCodes } from './config.js';
import { dpopErrorCodes } from './dpop.js';
import { errorRegistry } from './family.js';
import { httpErrorCodes } from './http.js';
import { coreMisuseCodes } from './misuse.js';
import { outboundErrorCodes } from './outbound.js';
import { storageErrorCodes } from './storage.js';
import { tokenErrorCodes } from './token.js';

/**
 * The codes one package defines: those it may answer with (status and meaning) and its misuse
 * codes (meaning only: a misuse is thrown at its caller, never answered). Each package exports
 * one; together they hold every code Tessera has, each once, and each package's README documents
 * its own in its error tables.
 */
export interface ErrorRegistry {
  readonly codes: Readonly<Record<string, ErrorCodeEntry>>;
  readonly misuse: Readonly<Record<MisuseCode, string>>;
}

/** Core's registry: every family defined here, and the misuse codes every package may share. */
export const coreErrorRegistry: ErrorRegistry = errorRegistry(
  {
    ...tokenErrorCodes,
    ...configErrorCodes,
    ...storageErrorCodes,
    ...authErrorCodes,
    ...httpErrorCodes,
    // A DPoP refusal is a resource server's 401 (RFC 9449 7.1); the token endpoint answers it 400.
    ...dpopErrorCodes,
    ...outboundErrorCodes,
  },
  coreMisuseCodes,
);
