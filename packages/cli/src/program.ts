import { Command } from 'commander';
import { registerClientsCommand } from './commands/clients.js';
import { registerCompareCommand } from './commands/compare.js';
import { registerDevCommand } from './commands/dev.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerLoginCommand } from './commands/login.js';
import { registerShopServiceCommand } from './commands/shop-service.js';
import { registerTokenServiceCommand } from './commands/token-service.js';
import { registerUsersCommand } from './commands/users.js';
import type { CliContext } from './context.js';
import { packageVersion } from './version.js';

/**
 * Each command lives in `src/commands/<name>.ts` and registers itself on the program.
 * A later package adds its command by adding one line here.
 */
const commands: readonly ((program: Command, context: CliContext) => void)[] = [
  registerDevCommand,
  registerUsersCommand,
  registerTokenServiceCommand,
  registerClientsCommand,
  registerKeysCommand,
  registerGatewayCommand,
  registerShopServiceCommand,
  registerCompareCommand,
  registerLoginCommand,
];

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
}

/**
 * Builds the `tessera` program without parsing anything, so tests can drive it in-process.
 * Commander never exits the process or prints errors itself: `main` turns its errors into one
 * line and an exit code.
 */
export function createProgram(context: CliContext): Command {
  const program = new Command('tessera')
    .description('Sessions or tokens for microservices: run, configure and compare the parts of Tessera.')
    .version(packageVersion(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('-c, --config <file>', 'config file (.yaml, .yml or .json); TESSERA__* variables override it')
    .showSuggestionAfterError(true)
    // Global options go before the command, so a command may have an option of the same name
    // (`tessera gateway --config gateway.yaml` is the gateway's file, not the global one).
    .enablePositionalOptions()
    // Set before adding commands: subcommands created with .command() inherit both.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.out(text),
      writeErr: (text) => context.io.err(text),
      outputError: () => {},
    });
  program.helpCommand('help [command]', 'show help for a command');

  program.hook('preAction', () => {
    // Validate the file before any command runs, so a bad config fails first and alone.
    if (program.opts<GlobalOptions>().config !== undefined) context.config();
  });

  for (const register of commands) register(program, context);
  return program;
}
