import { ConfigError } from '@tessera/core';
import { type Environment, formatConfigError, type LoadedConfig } from '@tessera/core/config';
import { CommanderError } from 'commander';
import { type CliConfig, loadCliConfig } from './config.js';
import type { CliContext, CliIo } from './context.js';
import { createProgram, type GlobalOptions } from './program.js';

/** Exit codes: 0 success, 1 a runtime failure (bad config, a part failing), 2 a usage error. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Runs the command line `argv` (as in `process.argv`: node, script, arguments) and resolves to
 * the exit code. It never rejects and never prints a stack trace: every failure is one line on
 * stderr, `tessera: <message>`.
 */
export async function main(
  argv: readonly string[],
  env: Environment,
  io: CliIo = processIo,
): Promise<number> {
  let loaded: LoadedConfig<CliConfig> | undefined;
  const context: CliContext = {
    env,
    io,
    config: () => {
      if (loaded === undefined) {
        loaded = loadCliConfig(program.opts<GlobalOptions>().config, env);
        for (const warning of loaded.warnings) io.err(`tessera: WARNING: ${warning}\n`);
      }
      return loaded;
    },
  };
  const program = createProgram(context);
  try {
    await program.parseAsync([...argv]);
    return exitCodes.ok;
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version end in a CommanderError too; their text is already written.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return exitCodes.ok;
    if (error.code === 'commander.help') return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    io.err(`tessera: ${oneLine(error.message.replace(/^error: /, ''))}\n`);
    return exitCodes.usage;
  }
  if (error instanceof ConfigError) {
    io.err(`${formatConfigError(error, 'tessera: ')}\n`);
    return exitCodes.failure;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`tessera: ${oneLine(message) || 'unexpected error'}\n`);
  return exitCodes.failure;
}

function oneLine(text: string): string {
  return text
    .trim()
    .split(/\s*\r?\n\s*/)
    .join(' ');
}
