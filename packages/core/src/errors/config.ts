import { TesseraError, type TesseraErrorOptions } from './base.js';

/** Failures of the config loader: the process should print one line per problem and exit non-zero. */
export const configErrorCodes = {
  ERR_CONFIG_FILE_UNREADABLE:
    'The config file does not exist, is a directory, cannot be read, is too large or has an unsupported extension.',
  ERR_CONFIG_PARSE: 'The config file is not valid YAML or JSON.',
  ERR_CONFIG_INVALID: 'A config value is missing, unknown, or has the wrong type or form.',
} as const;

export type ConfigErrorCode = keyof typeof configErrorCodes;

/** One thing wrong with a config. It names where the value came from and what was expected, never the value. */
export interface ConfigProblem {
  /** `config file <path>` (with `, line N` for YAML), `environment variable <NAME>`, `defaults` or `config`. */
  readonly source: string;
  /** The field path, e.g. `redis.port` or `clients[0].id`; empty for the document itself. */
  readonly path: string;
  /** What was expected, e.g. `expected number, got string`. */
  readonly message: string;
}

export interface ConfigErrorOptions extends TesseraErrorOptions {
  readonly problems?: readonly ConfigProblem[];
}

export class ConfigError extends TesseraError<ConfigErrorCode> {
  /** Every problem found, in order; one line of `message` each. Empty for file and parse errors. */
  readonly problems: readonly ConfigProblem[];

  constructor(code: ConfigErrorCode, message: string, options: ConfigErrorOptions = {}) {
    const { problems = [], ...rest } = options;
    super(code, message, { status: 500, expose: true, ...rest });
    this.problems = Object.freeze([...problems]);
  }
}
