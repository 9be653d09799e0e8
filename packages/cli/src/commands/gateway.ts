import { importSigningKey, type PrivateJwk, type SigningKey, TesseraTypeError } from '@tessera/core';
import type { parseMintingKeys } from '@tessera/resource/session';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { listenAs } from '../lib/listen.js';
import { integer } from '../lib/options.js';
import { announceThenWaitForSignal } from '../lib/signals.js';
import { withTracing } from '../lib/tracing.js';
import { upstreamTlsOf } from '../lib/upstream-tls.js';

interface GatewayCommandOptions {
  readonly config: string;
  readonly port?: number;
  readonly host?: string;
  readonly upstreamCa?: string;
  readonly upstreamCert?: string;
  readonly upstreamKey?: string;
}

/** The variable holding the gateway's session reference keys, `audience=keyid:secret` per session route audience. */
const KEYS_VARIABLE = 'TESSERA_SESSION_REFERENCE_KEYS';
/** The variable holding the gateway's client secret at the token service (hybrid routes). */
const CLIENT_SECRET_VARIABLE = 'TESSERA_GATEWAY_CLIENT_SECRET';
/** The variable holding the gateway's DPoP key, a private JWK (token.dpop, hybrid.dpop), the same on every instance. */
const DPOP_KEY_VARIABLE = 'TESSERA_GATEWAY_DPOP_KEY';

/** The DPoP key of `TESSERA_GATEWAY_DPOP_KEY`; a refusal names the variable, never the key. */
async function dpopKeyOf(text: string | undefined): Promise<SigningKey | undefined> {
  if (text === undefined || text.length === 0) return undefined;
  try {
    return await importSigningKey(JSON.parse(text) as PrivateJwk);
  } catch {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      `${DPOP_KEY_VARIABLE}: not a private JWK of EdDSA, ES256 or RS256 with its alg`,
    );
  }
}

async function run(options: GatewayCommandOptions, context: CliContext): Promise<void> {
  const { io, env } = context;
  // Loaded here, not at the top: every `tessera` process loads every command's module, and the
  // gateway is the heaviest (a token service or a shop service has no use for it).
  const { createGateway, loadGatewayConfig } = await import('@tessera/gateway');
  const { parseMintingKeys } = await import('@tessera/resource/session');
  // A ConfigError (missing, malformed or invalid file) goes up to main: one `tessera:` report, exit 1.
  const loaded = loadGatewayConfig({ file: options.config, env });
  for (const warning of loaded.warnings) io.err(`tessera gateway: WARNING: ${warning}\n`);
  const { config } = loaded;
  const keys = env[KEYS_VARIABLE];
  const clientSecret = env[CLIENT_SECRET_VARIABLE];
  let sessionReferenceKeys: ReturnType<typeof parseMintingKeys> | undefined;
  try {
    sessionReferenceKeys = keys === undefined ? undefined : parseMintingKeys(keys);
  } catch (error) {
    // The message names the variable and the entry's peer, never its secret.
    if (error instanceof TesseraTypeError)
      throw new TesseraTypeError('ERR_INVALID_OPTION', `${KEYS_VARIABLE}: ${error.message}`);
    throw error;
  }
  const dpopKey = await dpopKeyOf(env[DPOP_KEY_VARIABLE]);
  const upstreamTls = await upstreamTlsOf(options);
  const app = await createGateway(config, {
    ...(upstreamTls === undefined ? {} : { upstreamTls }),
    ...(sessionReferenceKeys === undefined ? {} : { sessionReferenceKeys }),
    ...(clientSecret === undefined ? {} : { clientSecret }),
    ...(dpopKey === undefined ? {} : { dpopKey }),
  });
  try {
    const host = options.host ?? config.listen.host;
    const port = options.port ?? config.listen.port;
    const signal = await announceThenWaitForSignal(async () => {
      const address = await listenAs('the gateway', '--port', host, port, () => app.listen({ host, port }));
      io.out(`tessera gateway: ${config.routes.length} routes, listening on ${address}\n`);
    });
    io.out(`tessera gateway: ${signal}, stopping\n`);
  } finally {
    await app.close();
  }
}

export function registerGatewayCommand(program: Command, context: CliContext): void {
  program
    .command('gateway')
    .description(
      `run the edge gateway from a config file (${KEYS_VARIABLE} for session routes, ${CLIENT_SECRET_VARIABLE} for hybrid routes, ${DPOP_KEY_VARIABLE} for DPoP)`,
    )
    .requiredOption(
      '--config <file>',
      'the gateway config (.yaml, .yml or .json); TESSERA_GATEWAY__* override it',
    )
    .option('--port <port>', 'port to listen on (overrides listen.port)', integer('--port', 0, 65535))
    .option('--host <host>', 'address to listen on (overrides listen.host)')
    .option(
      '--upstream-ca <file>',
      'mutual TLS to https upstreams: the CA (PEM) their certificates must chain to',
    )
    .option(
      '--upstream-cert <file>',
      'mutual TLS: the certificate (PEM) the gateway presents to upstreams and, with hybrid.mtls, to the token service',
    )
    .option('--upstream-key <file>', "mutual TLS: the certificate's private key (PEM)")
    .action((options: GatewayCommandOptions) =>
      withTracing(context.env, 'tessera-gateway', () => run(options, context)),
    );
}
