import { isLoopbackHost } from '@tessera/core';
import { type Environment, type LoadedConfig, loadConfig } from '@tessera/core/config';
import { z } from 'zod';

/** `TESSERA__DEV__PORT=8081` sets `dev.port`. */
export const envPrefix = 'TESSERA';

/**
 * One file configures the whole system, one section per part. Each later package adds its
 * section here (`tokenService`, `gateway`, ...), with its own schema.
 */
export const cliConfigSchema = z.object({
  dev: z
    .object({
      /** Where `tessera dev` serves the demo system. */
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
});

export type CliConfig = z.output<typeof cliConfigSchema>;

export function loadCliConfig(file: string | undefined, env: Environment): LoadedConfig<CliConfig> {
  return loadConfig({
    schema: cliConfigSchema,
    file,
    env,
    envPrefix,
    warnings: (config) =>
      isLoopbackHost(config.dev.host)
        ? []
        : [
            `dev.host is ${config.dev.host}: tessera dev runs with development keys and plain-http cookies ` +
              'and must not be reachable from other machines',
          ],
  });
}
