import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from 'pino';

/**
 * A request's logger that becomes a pino child (with the request id bound) only when something
 * is logged at an enabled level. Fastify makes one logger per request; a pino child costs about a
 * microsecond (more with redaction), and most requests log nothing but the access line, which a
 * gateway running at `warn` does not write either.
 */
class RequestLogger implements FastifyBaseLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #real(): Logger {
    if (this.#child === undefined) this.#child = this.#parent.child(this.#bindings);
    return this.#child;
  }

  #write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.#real()[level] as (...args: unknown[]) => void)(...args);
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#real().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#write('error', args);
  }

  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }

  info(...args: unknown[]): void {
    this.#write('info', args);
  }

  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }

  silent(): void {}

  /** Whether a line at `level` would be written: lets a caller skip gathering its fields. */
  isLevelEnabled(level: Level): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
}

function hasOptions(options: ChildLoggerOptions | undefined): boolean {
  for (const _ in options) return true;
  return false;
}

/**
 * Fastify's `childLoggerFactory` for a pino root logger. A route with logger options of its own
 * (a level, serializers) gets its pino child at once, as Fastify would make it.
 */
export function requestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions | undefined,
): FastifyBaseLogger {
  if (hasOptions(options)) return logger.child(bindings, options);
  return new RequestLogger(logger as unknown as Logger, bindings);
}

/** Whether `log` (a request's or the root logger) would write a line at `level`. */
export function logsAt(log: FastifyBaseLogger, level: Level): boolean {
  const check = (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled;
  return check === undefined ? true : check.call(log, level);
}
