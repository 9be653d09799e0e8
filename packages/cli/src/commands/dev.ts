import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** A part of the demo system `tessera dev` runs. `built` turns true as each package lands. */
export interface DevPart {
  readonly name: string;
  readonly description: string;
  readonly built: boolean;
}

export const devParts: readonly DevPart[] = [
  {
    name: 'token-service',
    description: 'OAuth 2.0 / OpenID Connect token service (@tessera/token-service)',
    built: false,
  },
  { name: 'session', description: 'server-side sessions (@tessera/session)', built: false },
  {
    name: 'resource',
    description: 'token verification inside each service (@tessera/resource)',
    built: false,
  },
  {
    name: 'gateway',
    description: 'the edge: routes, auth mode per route, proxying (@tessera/gateway)',
    built: false,
  },
  {
    name: 'demo shop',
    description: 'orders, inventory, payments and a web page (examples/shop)',
    built: false,
  },
];

export function registerDevCommand(program: Command, context: CliContext): void {
  program
    .command('dev')
    .description('run the whole demo system on one machine (SQLite, in-process channels, no servers needed)')
    .action(() => {
      const { config } = context.config();
      const missing = devParts.filter((part) => !part.built);
      const width = Math.max(...missing.map((part) => part.name.length));
      const lines = [
        `tessera dev: nothing to start yet; ${missing.length} of ${devParts.length} parts are not built yet:`,
        ...missing.map((part) => `  ${part.name.padEnd(width)}  ${part.description}`),
        `When they are, tessera dev will serve them on http://${hostForUrl(config.dev.host)}:${config.dev.port}.`,
      ];
      context.io.out(`${lines.join('\n')}\n`);
    });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
