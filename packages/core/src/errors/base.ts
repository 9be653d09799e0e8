/**
 * The root of every runtime or protocol failure Tessera raises. A caller can `switch` on `code`
 * (a string-literal union per family), answer with `status`, and show `message` to a client only
 * when `expose` is true: every other error becomes a generic server error at the edge, with the
 * detail kept for the log. `answerFor` (./answer.ts) is the one way an error becomes an HTTP answer.
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
  /**
   * Headers the answer must carry besides the protocol's own: `Allow` on a 405, `Retry-After`,
   * `Connection: close` when the rest of a refused body is not read. Never a secret.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the registry says of one code: the status it is answered with and what it means. */
export interface ErrorCodeEntry {
  readonly status: number;
  readonly meaning: string;
}

/**
 * Every code is `ERR_` and upper-case words joined by `_`. `ERR_INVALID_*` is kept for misuse
 * (`TesseraTypeError`), so a runtime code names its subject first (`ERR_JWS_KID_INVALID`).
 */
export const ERROR_CODE_PATTERN = /^ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*$/;

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

export class TesseraError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly status: number;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: Code, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
    this.headers = options.headers === undefined ? noHeaders : Object.freeze({ ...options.headers });
  }

  /** The body `answerFor(this)` sends: `{ error: { code, message } }`, the message only when exposable. */
  toJSON(): { error: { code: Code; message: string } } {
    return { error: { code: this.code, message: this.expose ? this.message : genericMessage(this.status) } };
  }
}

/** What a client is told of an error whose message is not exposed. */
export function genericMessage(status: number): string {
  return status === 503 ? 'temporarily unavailable' : 'internal error';
}

/** A misuse code: `ERR_INVALID_` and what was misused. */
export type MisuseCode = `ERR_INVALID_${string}`;

/**
 * Misuse by the calling programmer (a wrong option, a missing argument) is a `TypeError`, thrown
 * at construction time, never a runtime failure a client could trigger. It carries a code so
 * tests and callers can tell misuses apart; every code is in a package's misuse registry. One that
 * reaches an answer anyway (a route set up wrongly) is a bug: answered 500 `ERR_INTERNAL`.
 */
export class TesseraTypeError extends TypeError {
  readonly code: MisuseCode;

  constructor(code: MisuseCode, message: string) {
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
