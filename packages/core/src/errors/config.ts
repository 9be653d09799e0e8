import { TesseraError, type TesseraErrorOptions } from './base.js';

/** Failures of the config loader: the process should print one line and exit non-zero. */
export const configErrorCodes = {
  ERR_CONFIG_FILE_UNREADABLE: 'The config file does not exist or cannot be read.',
  ERR_CONFIG_PARSE: 'The config file is not valid YAML or JSON.',
  ERR_CONFIG_INVALID: 'A config value is missing or has the wrong type or form.',
} as const;

export type ConfigErrorCode = keyof typeof configErrorCodes;

export class ConfigError extends TesseraError<ConfigErrorCode> {
  constructor(code: ConfigErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(code, message, { status: 500, expose: true, ...options });
  }
}
