import { type ErrorCodes, type ErrorRegistry, errorFamily, errorRegistry } from '@tessera/core';
import table from './error-codes.json' with { type: 'json' };

/** Why a session request failed; the meanings are what the README documents. */
export const sessionErrorCodes: ErrorCodes<keyof typeof table.codes> = table.codes;

export type SessionErrorCode = keyof typeof sessionErrorCodes;

/** The misuse codes of the manager and its adapters. */
export const sessionMisuseCodes: Readonly<Record<keyof typeof table.misuse, string>> = table.misuse;

/** This package's codes. */
export const sessionErrorRegistry: ErrorRegistry = errorRegistry(sessionErrorCodes, sessionMisuseCodes);

// Every session error is safe to describe to the client: the message never carries an id,
// a token or a store detail (the store's own error stays in `cause`, for the log).
export class SessionError extends errorFamily(sessionErrorCodes, { expose: true }) {}
