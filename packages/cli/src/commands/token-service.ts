import { dirname, join } from 'node:path';
import { isLoopbackHost, isTrustedProxyEntry, type MetricsExposure } from '@tessera/core';
import type { Channel, KeyValueStore } from '@tessera/storage';
import type { TokenService } from '@tessera/token-service';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { readFlagFile } from '../lib/files.js';
import { listenAs } from '../lib/listen.js';
import { integer, redisUrl, usage } from '../lib/options.js';
import { announceThenWaitForSignal } from '../lib/signals.js';
import { withTracing } from '../lib/tracing.js';
import {
  defaultDatabaseUrl,
  defaultSecretFile,
  type OpenedDatabase,
  openDatabase,
  resolveServiceSecret,
} from './service-secret.js';
import { addGrantFlags, type GrantFlags, grantServiceOptions } from './token-service-grants.js';

interface TokenServiceCommandOptions extends GrantFlags {
  readonly port: number;
  readonly host: string;
  readonly issuer?: string;
  readonly db: string;
  readonly seed?: string;
  readonly redis?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  readonly allowInsecureIssuer?: boolean;
  readonly dev?: boolean;
  readonly secretFile?: string;
  readonly keyReloadInterval?: number;
  readonly clientCacheTtl?: number;
  readonly purgeInterval?: number;
  readonly deactivationPoll?: number;
  readonly trustProxy?: readonly string[];
  readonly metricsListen?: { host: string; port: number };
  readonly metricsPublic?: boolean;
}

/** `--trust-proxy 10.0.0.1,10.1.0.0/16`: the proxies whose X-Forwarded-For is believed. */
function proxyList(value: string, previous: readonly string[] = []): readonly string[] {
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (!isTrustedProxyEntry(entry)) {
      throw usage(
        `--trust-proxy takes IP addresses or CIDR blocks separated by commas, not ${JSON.stringify(entry)}`,
      );
    }
  }
  return [...previous, ...entries];
}

/** The variable holding the bearer token `/metrics` asks for on the public port. */
const METRICS_TOKEN_VARIABLE = 'TESSERA_METRICS_TOKEN';

/** `HOST:PORT` (an IPv6 host in brackets), as `--metrics-listen` takes it. */
function hostPort(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) throw usage('--metrics-listen must be HOST:PORT, e.g. 127.0.0.1:9464');
  return { host: (match[1] ?? match[2]) as string, port };
}

/** Where `/metrics` is served: one of the flag, the variable or --metrics-public, or nowhere. */
function metricsExposure(
  options: TokenServiceCommandOptions,
  token: string | undefined,
): MetricsExposure | undefined {
  const chosen = [options.metricsListen, token, options.metricsPublic].filter((x) => x !== undefined);
  if (chosen.length > 1) {
    throw usage(`give one of --metrics-listen, ${METRICS_TOKEN_VARIABLE} and --metrics-public`);
  }
  if (options.metricsListen !== undefined) return { listen: options.metricsListen };
  if (token !== undefined) return { bearerToken: token };
  if (options.metricsPublic === true) return { public: true };
  return undefined;
}

function parseIssuer(issuer: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error('--issuer must be an absolute URL, e.g. https://auth.example.com');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !allowInsecure) {
    throw new Error(
      `--issuer ${url.origin} is plain http on a host that is not loopback; use https, or --allow-insecure-issuer for development only`,
    );
  }
  return url;
}

/** The key-value store and the channel: Redis when instances share one, else local. */
async function openSharedState(
  redisUrl: string | undefined,
  database: OpenedDatabase,
): Promise<{ store: KeyValueStore; channel: Channel }> {
  const storage = await import('@tessera/storage');
  if (redisUrl !== undefined) {
    return {
      store: new storage.RedisStore({ url: redisUrl, prefix: 'tessera:token-service:' }),
      channel: new storage.RedisChannel({ url: redisUrl }),
    };
  }
  const store =
    database.sqliteFile === undefined
      ? new storage.MemoryStore()
      : new storage.SqliteStore({ path: join(dirname(database.sqliteFile), 'kv.db') });
  return { store, channel: new storage.InProcessChannel() };
}

async function run(options: TokenServiceCommandOptions, context: CliContext): Promise<void> {
  const { io } = context;
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw usage('--tls-cert and --tls-key go together');
  }
  if (options.tlsClientCa !== undefined && options.tlsCert === undefined) {
    throw usage('--tls-client-ca needs --tls-cert and --tls-key');
  }
  const metrics = metricsExposure(options, context.env[METRICS_TOKEN_VARIABLE]);
  const scheme = options.tlsCert === undefined ? 'http' : 'https';
  const issuer = options.issuer ?? `${scheme}://127.0.0.1:${options.port}`;
  const issuerUrl = parseIssuer(issuer, options.allowInsecureIssuer === true);
  const tokenService = await import('@tessera/token-service');
  // Everything that can be checked without the database is checked first, so a typo fails fast.
  const seed = options.seed === undefined ? undefined : tokenService.loadSeedFile(options.seed);
  const tls =
    options.tlsCert === undefined || options.tlsKey === undefined
      ? undefined
      : {
          cert: await readFlagFile('--tls-cert', options.tlsCert),
          key: await readFlagFile('--tls-key', options.tlsKey),
          ...(options.tlsClientCa === undefined
            ? {}
            : { clientCa: await readFlagFile('--tls-client-ca', options.tlsClientCa) }),
        };
  // The database first: a --db naming a directory that does not exist is refused before the
  // development secret file would be written beside it.
  const database = await openDatabase(options.db);
  let shared: { store: KeyValueStore; channel: Channel } | undefined;
  let service: TokenService | undefined;
  try {
    const secret = await resolveServiceSecret({
      env: context.env,
      io,
      file: options.secretFile ?? defaultSecretFile(options.db),
      mayCreate: isLoopbackHost(issuerUrl.hostname),
      refusal: 'a development secret file is generated only for a loopback issuer',
    });
    shared = await openSharedState(options.redis, database);
    if (options.redis === undefined && database.dialect === 'postgres') {
      io.err(
        'tessera: WARNING: without --redis, private_key_jwt replay checks and rate limits are per instance; run one instance, or give every instance --redis\n',
      );
    }
    service = await tokenService.openTokenService({
      issuer,
      database: database.db,
      store: shared.store,
      channel: shared.channel,
      secret,
      logger: true,
      ...(options.dev === true ? { dev: true } : {}),
      ...(options.allowInsecureIssuer === true ? { allowInsecureIssuer: true } : {}),
      ...(options.keyReloadInterval === undefined ? {} : { keyReloadIntervalMs: options.keyReloadInterval }),
      ...(options.clientCacheTtl === undefined ? {} : { clientCacheTtlMs: options.clientCacheTtl }),
      ...(options.purgeInterval === undefined ? {} : { purgeIntervalMs: options.purgeInterval }),
      ...(options.deactivationPoll === undefined ? {} : { deactivationPollMs: options.deactivationPoll }),
      ...(tls === undefined ? {} : { tls }),
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      ...grantServiceOptions(options, context.config().config.tokenService),
      ...(metrics === undefined ? {} : { metrics }),
    });
    if (seed !== undefined) {
      const { openUserDirectory } = await import('@tessera/identity');
      const users = seed.users.length === 0 ? undefined : await openUserDirectory({ db: database.db });
      const result = await tokenService.applySeed(seed, {
        service,
        ...(users === undefined ? {} : { users }),
      });
      io.out(
        `seed ${options.seed}: clients ${result.clients.created.length} created, ${result.clients.updated.length} updated, ` +
          `${result.clients.unchanged.length} unchanged; users ${result.users.created.length} created, ` +
          `${result.users.existing.length} already there\n`,
      );
    }
    const app = service.app;
    const signal = await announceThenWaitForSignal(async () => {
      await listenAs('the token service', '--port', options.host, options.port, () =>
        app.listen({ host: options.host, port: options.port }),
      );
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      io.out(`tessera token-service: issuer ${issuer}, listening on ${scheme}://${host}:${port}\n`);
    });
    io.out(`tessera token-service: ${signal}, stopping\n`);
  } finally {
    await service?.close();
    await shared?.channel.close();
    await shared?.store.close();
    await database.db.destroy();
  }
}

export function registerTokenServiceCommand(program: Command, context: CliContext): void {
  const command = program
    .command('token-service')
    .description('run the OAuth 2.0 / OpenID Connect token service')
    .option('--port <port>', 'port to listen on', integer('--port', 0, 65535), 9000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--issuer <url>', 'the issuer, exactly as in `iss` (default http://127.0.0.1:<port>)')
    .option('--db <url>', 'database: sqlite:FILE or postgres://…', defaultDatabaseUrl)
    .option('--seed <file>', 'clients and users to apply at start (YAML or JSON)')
    .option(
      '--redis <url>',
      'Redis for shared state and revocation events (several instances)',
      redisUrl('--redis'),
    )
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--tls-client-ca <file>',
      'mutual TLS (RFC 8705): ask clients for a certificate; tls_client_auth certificates must chain to these PEM CAs',
    )
    .option('--allow-insecure-issuer', 'accept an http:// issuer that is not loopback (development only)')
    .option('--dev', 'development: a short secret is accepted, short client secrets are not warned about')
    .option('--secret-file <file>', 'development secret file when TESSERA_SECRET is not set')
    .option(
      '--key-reload-interval <ms>',
      'how often signing keys are re-read from the database (default 30000)',
      integer('--key-reload-interval', 1, 86_400_000),
    )
    .option(
      '--client-cache-ttl <ms>',
      'how long a client read from the database is reused (default 5000)',
      integer('--client-cache-ttl', 0, 86_400_000),
    )
    .option(
      '--purge-interval <ms>',
      'how often expired codes, refresh tokens, grants and revocations are deleted; 0 never (default 600000)',
      integer('--purge-interval', 0, 86_400_000),
    )
    .option(
      '--deactivation-poll <ms>',
      'how often users disabled or deleted by another process are looked for, to end their sessions; 0 never (default 5000)',
      integer('--deactivation-poll', 0, 3_600_000),
    )
    .option(
      '--trust-proxy <addresses>',
      'proxies (IP addresses or CIDR blocks, comma-separated; repeatable) whose X-Forwarded-For is believed (default none)',
      proxyList,
    )
    .option(
      '--metrics-listen <host:port>',
      `serve /metrics on a listener of its own (else not served, unless ${METRICS_TOKEN_VARIABLE} or --metrics-public)`,
      hostPort,
    )
    .option('--metrics-public', 'serve /metrics on the public port to anyone (a private network only)');
  addGrantFlags(command).action((options: TokenServiceCommandOptions) =>
    withTracing(context.env, 'tessera-token-service', () => run(options, context)),
  );
}
