/**
 * The root of every runtime or protocol failure Tessera raises. A caller can `switch` on `code`
 * (a string-literal union per family), answer with `status`, and show `message` to a client only
 * when `expose` is true: every other error becomes a generic server error at the edge, with the
 * detail kept for the log.
 *
 * A message must never contain a token, cookie, secret or password: it may reach a client.
 */
export interface TesseraErrorOptions {
  /** HTTP status a server should answer with. */
  readonly status?: number;
  /** Whether `message` may be shown to the caller. Defaults to true for 4xx, false for 5xx. */
  readonly expose?: boolean;
  /** The underlying error, for the log only; it is never serialised to a caller. */
  readonly cause?: unknown;
}

export class TesseraError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: Code, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
  }

  /** The body a server may send: only the code and, when exposable, the message. */
  toJSON(): { code: Code; message: string } {
    return { code: this.code, message: this.expose ? this.message : 'internal error' };
  }
}

/**
 * Misuse by the calling programmer (a wrong option, a missing argument) is a `TypeError`, thrown
 * at construction time, never a runtime failure a client could trigger. It carries a code so
 * tests and callers can tell misuses apart.
 */
export class TesseraTypeError extends TypeError {
  readonly code: string;

  constructor(code: `ERR_INVALID_${string}`, message: string) {
    super(message);
    this.name = 'TesseraTypeError';
    this.code = code;
  }
}

/** True for any error of the hierarchy, including ones from another copy of this package. */
export function isTesseraError(value: unknown): value is TesseraError {
  return (
    value instanceof TesseraError ||
    (value instanceof Error &&
      typeof (value as { code?: unknown }).code === 'string' &&
      typeof (value as { status?: unknown }).status === 'number' &&
      typeof (value as { expose?: unknown }).expose === 'boolean')
  );
}
