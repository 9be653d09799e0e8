import type { TesseraErrorOptions } from './base.js';
import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/**
 * Failures of the config loader: the process should print one line per problem and exit non-zero.
 * Their status is 500 only for a server that answers one anyway; the message is shown (it names
 * where a value came from, never the value).
 */
export const configErrorCodes: ErrorCodes<keyof typeof table.config> = table.config;

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
