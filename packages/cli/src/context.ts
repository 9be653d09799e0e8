import type { Environment, LoadedConfig } from '@tessera/core/config';
import type { CliConfig } from './config.js';

/** Where the command writes. Injected so the program runs in-process in tests. */
export interface CliIo {
  /** Normal output (help, version, command results). */
  readonly out: (text: string) => void;
  /** Diagnostics: errors and warnings. */
  readonly err: (text: string) => void;
}

/** What every command gets: the environment read once at the entry point, output, and the config. */
export interface CliContext {
  readonly env: Environment;
  readonly io: CliIo;
  /**
   * The config from `--config` (if given), `TESSERA__*` variables and defaults, validated once
   * and then reused. Its warnings have already been printed.
   */
  readonly config: () => LoadedConfig<CliConfig>;
}
