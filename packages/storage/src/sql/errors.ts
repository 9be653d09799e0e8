import { StorageError } from '@tessera/core';
import { scrub } from './redact.js';

/** What the connection layer knows about the database it talks to, for safe messages. */
export interface ErrorContext {
  /** e.g. `PostgreSQL at db:5432/app` or `SQLite file ./data.db`: never a credential. */
  readonly target: string;
  /** Strings that must never appear in a message (the password). */
  readonly secrets: readonly string[];
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

// PostgreSQL classes 08 (connection exception) and 57P0x (server shutting down / not accepting).
const POSTGRES_UNAVAILABLE = /^(08...|57P0[1-3])$/;

const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY)/;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * True when an error means the database could not be used at all (the link is gone, the server
 * is shutting down, the file is locked or unreadable), as opposed to a query the database refused.
 */
export function isUnavailableError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    return NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code);
  }
  const message = messageOf(error);
  return /Connection terminated|timeout expired|Client has encountered a connection error/i.test(message);
}

/** A StorageError ERR_STORAGE_UNAVAILABLE naming the target, with the driver's words scrubbed. */
export function unavailable(error: unknown, context: ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const detail = scrub(messageOf(error), context.secrets);
  return new StorageError('ERR_STORAGE_UNAVAILABLE', `${context.target} is unavailable: ${detail}`, {
    cause: scrubbedCause(error, context.secrets),
  });
}

/**
 * The cause kept for the log. A driver error holding a secret in its message is replaced by a
 * plain Error with the scrubbed message, since loggers print causes too.
 */
function scrubbedCause(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof Error)) return error;
  const text = `${error.message}\n${error.stack ?? ''}`;
  if (scrub(text, secrets) === text) return error;
  const clean = new Error(scrub(error.message, secrets));
  const code = codeOf(error);
  if (code !== undefined) Object.assign(clean, { code });
  return clean;
}
