import { join } from 'node:path';
import { type Command, Option } from 'commander';
import type { CliContext } from '../context.js';
import { type DevPorts, defaultDevPorts, devUrls, devUsers, SHOP_CLI_REDIRECT } from '../dev/seed.js';
import type { DevMode, DevSystem } from '../dev/system.js';
import { integer, redisUrl, usage } from '../lib/options.js';
import { announceThenWaitForSignal } from '../lib/signals.js';
import { withTracing } from '../lib/tracing.js';
import { resolveServiceSecret } from './service-secret.js';

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
    built: true,
  },
  { name: 'session', description: 'server-side sessions (@tessera/session)', built: true },
  {
    name: 'resource',
    description: 'token verification inside each service (@tessera/resource)',
    built: true,
  },
  {
    name: 'gateway',
    description: 'the edge: routes, session, token and hybrid modes, proxying (@tessera/gateway)',
    built: true,
  },
  { name: 'hybrid mode', description: 'the gateway as a BFF: tokens kept in the session', built: true },
  {
    name: 'demo shop',
    description: 'orders, inventory and payments (examples/shop), and the web page at the gateway',
    built: true,
  },
];

interface DevCommandOptions {
  readonly mode?: string;
  readonly redis?: string;
  readonly db?: string;
  readonly dir: string;
  readonly dryRun?: boolean;
  readonly pretty?: boolean;
  readonly dpop?: boolean;
  readonly gatewayPort?: number;
  readonly tokenServicePort: number;
  readonly ordersPort: number;
  readonly inventoryPort: number;
  readonly paymentsPort: number;
  readonly mtls?: boolean;
  readonly tokenServiceMtlsPort: number;
}

/** The token service's mutual-TLS listener under `tessera dev --mtls` (RFC 8705 5). */
export const DEV_MTLS_PORT = 9443;

/** What `tessera dev` prints once everything listens (or, with --dry-run, would listen). */
export function describeDevSystem(
  mode: DevMode,
  urls: DevSystem['urls'],
  dir: string,
  bindings: { readonly dpop?: boolean; readonly mtls?: { readonly tokenService: string } | undefined } = {},
): string {
  const { dpop = false, mtls } = bindings;
  const api = `${urls.gateway}/api`;
  const lines = [
    `tessera dev: ${mode} mode${dpop ? ', DPoP-bound tokens at every hop' : ''}`,
    `  gateway        ${urls.gateway}  (${api}/orders, ${api}/inventory)`,
    `  token service  ${urls.tokenService}`,
    `  orders         ${urls.orders}`,
    `  inventory      ${urls.inventory}`,
    `  payments       ${urls.payments}  (internal: no gateway route)`,
    ...(mtls === undefined
      ? []
      : [
          `  mutual TLS     token service ${mtls.tokenService} (mtls_endpoint_aliases); services take callers with a certificate of ${join(dir, 'mtls', 'ca.pem')} only`,
        ]),
    `  users          ${devUsers.map((u) => `${u.username} / ${u.password}`).join(', ')}`,
    `  public client  shop-cli (redirect ${SHOP_CLI_REDIRECT})`,
    `  config files   ${join(dir, 'gateway.yaml')}, ${join(dir, 'seed.yaml')}`,
    mode === 'token'
      ? `  sign in        TOKEN=$(npx tessera login --issuer ${urls.tokenService})  (or --device), then curl -H "Authorization: Bearer $TOKEN" ${api}/orders/orders`
      : `  sign in        open ${urls.gateway}/ in a browser`,
  ];
  if (mode === 'session') {
    lines.push(
      `  or with curl   curl -i -X POST ${urls.gateway}/auth/login -H 'content-type: application/json' -d '{"username":"alice","password":"alice-password"}'`,
    );
  }
  if (mode !== 'token') {
    const secrets =
      mode === 'hybrid'
        ? `TESSERA_GATEWAY_CLIENT_SECRET=$(cat ${join(dir, 'gateway-client-secret')})`
        : `TESSERA_SESSION_REFERENCE_KEYS=$(cat ${join(dir, 'session-reference-keys')})`;
    lines.push(
      `  2nd gateway    ${secrets} npx tessera gateway --config ${join(dir, 'gateway.yaml')} --port 8090`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function run(options: DevCommandOptions, context: CliContext): Promise<void> {
  const { io, env } = context;
  const { config } = context.config();
  const mode: DevMode = options.mode === 'token' || options.mode === 'session' ? options.mode : 'hybrid';
  const ports: DevPorts = {
    tokenService: options.tokenServicePort,
    gateway: options.gatewayPort ?? config.dev.port,
    orders: options.ordersPort,
    inventory: options.inventoryPort,
    payments: options.paymentsPort,
  };
  const dpop = options.dpop === true;
  if (dpop && mode === 'session') {
    throw usage('--dpop binds tokens: use it with --mode hybrid or token');
  }
  if (options.mtls === true && mode === 'session') {
    // Session mode sends sealed session references, not tokens: there is nothing to bind.
    throw usage('--mtls binds tokens to certificates: use it with --mode hybrid or token');
  }
  if (dpop && options.mtls === true) {
    throw usage('--dpop and --mtls each bind tokens to their holder: use one of them');
  }
  const mtls = options.mtls === true ? { port: options.tokenServiceMtlsPort } : undefined;
  if (options.dryRun === true) {
    const aliases = mtls === undefined ? undefined : { tokenService: `https://127.0.0.1:${mtls.port}` };
    io.out(describeDevSystem(mode, devUrls(ports, mtls !== undefined), options.dir, { dpop, mtls: aliases }));
    return;
  }
  const secret = await resolveServiceSecret({
    env,
    io,
    file: join(options.dir, 'secret'),
    mayCreate: true,
    refusal: 'tessera dev always runs on loopback',
  });
  const { startDevSystem } = await import('../dev/system.js');
  const system = await startDevSystem({
    mode,
    dir: options.dir,
    secret,
    ports,
    ...(mtls === undefined ? {} : { mtls }),
    ...(options.db === undefined ? {} : { databaseUrl: options.db }),
    ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
    ...(options.pretty === true ? { logs: { pretty: true } } : {}),
    ...(dpop ? { dpop: true } : {}),
    // Every part's /metrics on its own port behind this token, as `tessera token-service` takes it.
    ...(env.TESSERA_METRICS_TOKEN === undefined
      ? {}
      : { metrics: { bearerToken: env.TESSERA_METRICS_TOKEN } }),
  });
  try {
    const signal = await announceThenWaitForSignal(() => {
      io.out(describeDevSystem(mode, system.urls, options.dir, { dpop: system.dpop, mtls: system.mtls }));
      io.out('Ctrl-C stops every part.\n');
    });
    io.out(`tessera dev: ${signal}, stopping\n`);
  } finally {
    await system.close();
  }
}

export function registerDevCommand(program: Command, context: CliContext): void {
  program
    .command('dev')
    .description('run the whole demo system on one machine (SQLite, in-process channels, no servers needed)')
    .addOption(
      new Option('--mode <mode>', 'hybrid (a session at the edge, tokens behind it), session or token')
        .choices(['hybrid', 'session', 'token'])
        .default('hybrid'),
    )
    .option('--redis <url>', 'Redis for sessions, rate limits and revocation events', redisUrl('--redis'))
    .option('--db <url>', 'database of the token service and users: sqlite:FILE or postgres://…')
    .option('--dir <dir>', 'where databases, secrets and config files go', '.tessera')
    .option('--dry-run', 'print what would run, start nothing')
    .option('--pretty', 'log lines for people (pino-pretty) instead of JSON')
    .option(
      '--dpop',
      "DPoP-bound tokens at every hop (hybrid and token modes): the gateway's, orders' own key; the page's trace shows each hop's jkt",
    )
    .option(
      '--mtls',
      'mutual TLS between the parts: a development CA under --dir, certificate-bound tokens (RFC 8705)',
    )
    .option(
      '--token-service-mtls-port <port>',
      "the token service's mutual-TLS listener (with --mtls)",
      integer('--token-service-mtls-port', 1, 65535),
      DEV_MTLS_PORT,
    )
    .option(
      '--gateway-port <port>',
      'gateway port (default dev.port of the config, 8080)',
      integer('--gateway-port', 1, 65535),
    )
    .option(
      '--token-service-port <port>',
      'token service port',
      integer('--token-service-port', 1, 65535),
      defaultDevPorts.tokenService,
    )
    .option('--orders-port <port>', 'orders port', integer('--orders-port', 1, 65535), defaultDevPorts.orders)
    .option(
      '--inventory-port <port>',
      'inventory port',
      integer('--inventory-port', 1, 65535),
      defaultDevPorts.inventory,
    )
    .option(
      '--payments-port <port>',
      'payments port',
      integer('--payments-port', 1, 65535),
      defaultDevPorts.payments,
    )
    .action((options: DevCommandOptions) =>
      withTracing(context.env, 'tessera-dev', () => run(options, context)),
    );
}
