import type { ErrorCodeEntry, TesseraErrorOptions } from './base.js';
import { errorFamily } from './family.js';

/**
 * Failures of the config loader: the process should print one line per problem and exit non-zero.
 * Their status is 500 only for a server that answers one anyway; the message is shown (it names
 * where a value came from, never the value).
 */
export const configErrorCodes = {
  ERR_CONFIG_FILE_UNREADABLE: {
    status: 500,
    meaning:
      'The config file does not exist, is a directory, cannot be read, is over 1 MiB or is not .yaml, .yml or .json.',
  },
  ERR_CONFIG_PARSE: {
    status: 500,
    meaning:
      'The config file is not valid YAML or JSON (the message gives the line and column when the parser does).',
  },
  ERR_CONFIG_INVALID: {
    status: 500,
    meaning: 'A config value is missing, unknown, or has the wrong type or form.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

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

// The message names where a value came from, never the value: it is shown.
export class ConfigError extends errorFamily(configErrorCodes, { expose: true }) {
  /** Every problem found, in order; one line of `message` each. Empty for file and parse errors. */
  readonly problems: readonly ConfigProblem[];

  constructor(code: ConfigErrorCode, message?: string, options: ConfigErrorOptions = {}) {
    const { problems = [], ...rest } = options;
    super(code, message, rest);
    this.problems = Object.freeze([...problems]);
  }
}
