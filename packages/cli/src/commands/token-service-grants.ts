import type { SigningAlgorithm } from '@tessera/core';
import type { TokenServiceOptions } from '@tessera/token-service';
import type { Command } from 'commander';
import { integer, usage } from '../lib/options.js';

// The `tessera token-service` flags for grants, third-party clients and DPoP, kept apart from the
// command's own so each group stays one block.

/** What these flags parse to (commander's camel-cased names). */
export interface GrantFlags {
  readonly accessTokenAlg?: SigningAlgorithm;
  readonly accessTokenAlgFor?: Readonly<Record<string, SigningAlgorithm>>;
  readonly refreshReuseGrace?: number;
  readonly clientAssertionMaxLifetime?: number;
  readonly dpopNonce?: boolean;
  readonly dpopAlgs?: readonly SigningAlgorithm[];
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

/** `--dpop-algs ES256,EdDSA`: the algorithms a DPoP proof may use, each once. */
function algorithmList(value: string): SigningAlgorithm[] {
  const names = value.split(',').map((name) => name.trim());
  return [...new Set(names.map((name) => algorithm('--dpop-algs', name)))];
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
    )
    .option(
      '--dpop-nonce',
      'DPoP server nonces at /token (RFC 9449 8): DPoP-Nonce on every answer, use_dpop_nonce without one',
    )
    .option(
      '--dpop-algs <algs>',
      'algorithms a DPoP proof may be signed with, comma-separated: EdDSA, ES256, RS256 (default EdDSA,ES256)',
      algorithmList,
    );
}

/** The config file's `tokenService` section (src/config.ts), as loaded. */
export interface TokenServiceConfig {
  readonly dpopNonce?: boolean | undefined;
  readonly dpopAlgorithms?: readonly SigningAlgorithm[] | undefined;
}

/**
 * The token-service options these flags set, over the config file's `tokenService` section (a
 * flag given wins); nothing for what neither sets, so the service's defaults hold.
 */
export function grantServiceOptions(
  flags: GrantFlags,
  config: TokenServiceConfig = {},
): Partial<TokenServiceOptions> {
  const dpopNonce = flags.dpopNonce ?? config.dpopNonce;
  const dpopAlgorithms = flags.dpopAlgs ?? config.dpopAlgorithms;
  return {
    ...(dpopNonce === undefined ? {} : { dpopNonce }),
    ...(dpopAlgorithms === undefined ? {} : { dpopAlgorithms }),
    ...(flags.accessTokenAlg === undefined ? {} : { accessTokenAlg: flags.accessTokenAlg }),
    ...(flags.accessTokenAlgFor === undefined ? {} : { accessTokenAlgByAudience: flags.accessTokenAlgFor }),
    ...(flags.refreshReuseGrace === undefined ? {} : { refreshTokenReuseGrace: flags.refreshReuseGrace }),
    ...(flags.clientAssertionMaxLifetime === undefined
      ? {}
      : { clientAssertionMaxLifetime: flags.clientAssertionMaxLifetime }),
  };
}
