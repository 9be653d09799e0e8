import type { ErrorCodeEntry, MisuseCode } from './base.js';
import { TesseraError, type TesseraErrorOptions } from './base.js';
import type { ErrorRegistry } from './registry.js';

/** A family's codes, each with the status its errors are answered with and what it means. */
export type ErrorCodes<Code extends string = string> = Readonly<Record<Code, ErrorCodeEntry>>;

/** What a family says of all its errors, besides each code's status. */
export interface ErrorFamilyOptions<Code extends string> {
  /**
   * Whether the family's messages are written for the client. Left out, a 4xx's message is shown
   * and a 5xx's is not (TesseraError's default).
   */
  readonly expose?: boolean;
  /** Headers the answer to a code always carries (`Connection: close`, `Retry-After`); never a secret. */
  readonly headers?: Partial<Record<Code, Readonly<Record<string, string>>>>;
}

/** The constructor `errorFamily` makes: a code of the family, a message (its meaning by default), options. */
export interface ErrorFamily<Code extends string> {
  new (code: Code, message?: string, options?: TesseraErrorOptions): TesseraError<Code>;
  readonly prototype: TesseraError<Code>;
}

/**
 * The base class of one error family, made from its registry of codes, so that a family is its
 * codes and nothing else: `class StorageError extends errorFamily(storageErrorCodes) {}`. Each
 * family is its own class (`instanceof StorageError`), named by the class that extends it, and
 * every error it makes has its code's status; a family that carries more (a scope, a retry time)
 * adds it in its own constructor.
 */
export function errorFamily<Code extends string>(
  codes: ErrorCodes<Code>,
  family: ErrorFamilyOptions<Code> = {},
): ErrorFamily<Code> {
  const { expose, headers: codeHeaders } = family;
  return class extends TesseraError<Code> {
    constructor(code: Code, message: string = codes[code].meaning, options: TesseraErrorOptions = {}) {
      const own = codeHeaders?.[code];
      const headers = own === undefined ? options.headers : { ...own, ...options.headers };
      super(code, message, {
        status: codes[code].status,
        ...(expose === undefined ? {} : { expose }),
        ...options,
        ...(headers === undefined ? {} : { headers }),
      });
    }
  };
}

/** A package's registry: the codes it answers with and its misuse codes, frozen. */
export function errorRegistry(
  codes: ErrorCodes,
  misuse: Readonly<Record<MisuseCode, string>> = {},
): ErrorRegistry {
  return Object.freeze({ codes: Object.freeze({ ...codes }), misuse: Object.freeze({ ...misuse }) });
}
