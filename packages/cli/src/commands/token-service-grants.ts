import type { SigningAlgorithm } from '@tessera/core';
import type { TokenServiceOptions } from '@tessera/token-service';
import type { Command } from 'commander';
import { integer, usage } from '../lib/options.js';

// The `tessera token-service` flags for grants and third-party clients, kept apart from the
// command's own so each group stays one block.

/** What these flags parse to (commander's camel-cased names). */
export interface GrantFlags {
  readonly accessTokenAlg?: SigningAlgorithm;
  readonly accessTokenAlgFor?: Readonly<Record<string, SigningAlgorithm>>;
  readonly refreshReuseGrace?: number;
  readonly clientAssertionMaxLifetime?: number;
}

const ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];

function algorithm(flag: string, value: string): SigningAlgorithm {
  if (!(ALGORITHMS as readonly string[]).includes(value)) {
    throw usage(`${flag} must be one of ${ALGORITHMS.join(', ')}`);
  }
  return value as SigningAlgorithm;
}

/** `--access-token-alg-for AUDIENCE=ALG`, repeatable: one map over every use. */
function audienceAlgorithm(
  value: string,
  previous: Readonly<Record<string, SigningAlgorithm>> | undefined,
): Record<string, SigningAlgorithm> {
  const eq = value.lastIndexOf('=');
  const audience = eq < 0 ? '' : value.slice(0, eq);
  if (audience.length === 0) throw usage('--access-token-alg-for takes AUDIENCE=ALG, e.g. legacy=RS256');
  return { ...previous, [audience]: algorithm('--access-token-alg-for', value.slice(eq + 1)) };
}

export function addGrantFlags(command: Command): Command {
  return command
    .option(
      '--access-token-alg <alg>',
      'access-token signing algorithm: EdDSA (default), ES256 or RS256',
      (value: string) => algorithm('--access-token-alg', value),
    )
    .option(
      '--access-token-alg-for <audience=alg>',
      'the access-token algorithm of one audience, e.g. legacy=RS256 (repeatable)',
      audienceAlgorithm,
    )
    .option(
      '--refresh-reuse-grace <s>',
      'seconds a confidential client may present a just-rotated refresh token again (concurrent refreshes); 0 strict (default 0)',
      integer('--refresh-reuse-grace', 0, 300),
    )
    .option(
      '--client-assertion-max-lifetime <s>',
      'longest private_key_jwt assertion lifetime accepted (default 3600)',
      integer('--client-assertion-max-lifetime', 1, 86_400),
    );
}

/** The token-service options these flags set; nothing for a flag not given. */
export function grantServiceOptions(flags: GrantFlags): Partial<TokenServiceOptions> {
  return {
    ...(flags.accessTokenAlg === undefined ? {} : { accessTokenAlg: flags.accessTokenAlg }),
    ...(flags.accessTokenAlgFor === undefined ? {} : { accessTokenAlgByAudience: flags.accessTokenAlgFor }),
    ...(flags.refreshReuseGrace === undefined ? {} : { refreshTokenReuseGrace: flags.refreshReuseGrace }),
    ...(flags.clientAssertionMaxLifetime === undefined
      ? {}
      : { clientAssertionMaxLifetime: flags.clientAssertionMaxLifetime }),
  };
}
