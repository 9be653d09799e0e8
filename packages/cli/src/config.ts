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
  /**
   * `tessera token-service`'s DPoP settings (RFC 9449), the token service's options of the same
   * names; its flags `--dpop-nonce` and `--dpop-algs` win over them. Unset: the service's defaults.
   */
  tokenService: z
    .object({
      /** Server nonces at /token: `DPoP-Nonce` on every answer, `use_dpop_nonce` without one. */
      dpopNonce: z.boolean().optional(),
      /** The algorithms a proof at /token may be signed with (discovery's list). */
      dpopAlgorithms: z
        .array(z.enum(['EdDSA', 'ES256', 'RS256']))
        .min(1)
        .max(3)
        .optional(),
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
