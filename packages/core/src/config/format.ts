import type { ConfigError } from '../errors/config.js';

/**
 * A config error as a command line tool prints it: one line per problem, each with `prefix`
 * (like `tessera: `), no stack and no value from the config.
 */
export function formatConfigError(error: ConfigError, prefix = ''): string {
  return error.message
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}
