import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MetricsExposure } from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';
import { stringify } from 'yaml';
import { openDatabase } from '../commands/service-secret.js';
import { listenAs } from '../lib/listen.js';
import { type LogOutput, logStream, partLogger } from '../lib/logging.js';
import { type DevPorts, derivedSecret, devClientSecret, devSeed, devUrls, GATEWAY_SCOPES } from './seed.js';

export type DevMode = 'token' | 'session' | 'hybrid';

export interface DevSystemOptions {
  readonly mode: DevMode;
  /** Where the databases and the config files go (`.tessera`). */
  readonly dir: string;
  /** The service secret (TESSERA_SECRET or the development secret file). */
  readonly secret: string;
  /** `sqlite:FILE` or `postgres://…`; default `sqlite:<dir>/tessera.db`. */
  readonly databaseUrl?: string;
  /** Redis for sessions, rate limits and revocation events; default SQLite and in-process. */
  readonly redisUrl?: string;
  readonly ports: DevPorts;
  /** Every part's log level; default `info`. */
  readonly logLevel?: 'info' | 'warn' | 'silent';
  /** Where and how every part logs (one JSON stream by default). */
  readonly logs?: LogOutput;
  /** Where every part (token service, gateway, each shop service) serves `/metrics`; default nowhere. */
  readonly metrics?: MetricsExposure;
}

export interface DevSystem {
  readonly mode: DevMode;
  readonly urls: { readonly [part in keyof DevPorts]: string };
  /** The files written under `dir`, by name. */
  readonly files: {
    readonly gateway: string;
    readonly seed: string;
    /** The gateway's session reference keys, one per audience it routes to (`TESSERA_SESSION_REFERENCE_KEYS`). */
    readonly referenceKeys: string;
    readonly clientSecret: string;
  };
  /** Stops every part, the last started first. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const SESSION_KEY_PREFIX = 'tessera:gateway:';

/** Writes a file only its owner can read: it may hold secrets. */
async function writePrivate(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

/** How often the dev system looks for users disabled by another process (the default is 5 s). */
const devDeactivationPollMs = 1000;

/**
 * Starts the whole demo system in this process: the token service, the three shop services and
 * the gateway, in `token` or `session` mode. It first writes the files each part can be started
 * again from (`seed.yaml` for `tessera token-service --seed`, `gateway.yaml` and the gateway's
 * session reference keys for `tessera gateway`), then runs every part from them.
 */
export async function startDevSystem(options: DevSystemOptions): Promise<DevSystem> {
  const { mode, ports, redisUrl } = options;
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const databaseUrl = options.databaseUrl ?? `sqlite:${join(dir, 'tessera.db')}`;
  const urls = devUrls(ports);
  const issuer = urls.tokenService;
  const resourceSession = await import('@tessera/resource/session');
  const shop = await import('@tessera/example-shop');
  // One key per edge (the gateway to each service it routes to, and each call the shop makes),
  // derived here from one master; each part is then given only the keys of its own edges.
  const referenceMaster = derivedSecret(options.secret, 'session references');
  const edges = [
    ['gateway', 'orders'],
    ['gateway', 'inventory'],
    ...shop.SHOP_CALLS,
  ] as const satisfies readonly (readonly [string, string])[];
  const referenceKeys = resourceSession.keysByPart(edges, (from, to) => [
    resourceSession.deriveReferenceKey(referenceMaster, from, to, 'k1'),
  ]);
  const gatewayReferenceKeys = referenceKeys.gateway?.mint ?? {};
  const clientSecret = devClientSecret(options.secret, 'gateway');
  const seed = devSeed(options.secret, urls.gateway);
  const files = {
    gateway: join(dir, 'gateway.yaml'),
    seed: join(dir, 'seed.yaml'),
    referenceKeys: join(dir, 'session-reference-keys'),
    clientSecret: join(dir, 'gateway-client-secret'),
  };
  await writePrivate(files.seed, stringify(seed));
  await writePrivate(
    files.referenceKeys,
    `${Object.entries(gatewayReferenceKeys)
      .map(([audience, key]) => `${audience}=${key.id}:${String(key.secret)}`)
      .join(',')}\n`,
  );
  await writePrivate(files.clientSecret, `${clientSecret}\n`);
  await writePrivate(files.gateway, stringify(gatewayConfig(options, urls, databaseUrl, dir)));

  // Loaded here, not at the top: `tessera --help` must not pay for every package.
  const storage = await import('@tessera/storage');
  const tokenServicePackage = await import('@tessera/token-service');
  const { openUserDirectory } = await import('@tessera/identity');
  const resource = await import('@tessera/resource');
  const gatewayPackage = await import('@tessera/gateway');

  // One stream, one format (pino JSON, or pino-pretty's), every part named on each line.
  const logs = await logStream(options.logs ?? {});
  const logLevel = options.logLevel ?? 'info';
  const logger = (part: string) => partLogger(part, logs, logLevel);
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const database = await openDatabase(databaseUrl);
    stops.push(() => database.db.destroy());
    const store: KeyValueStore =
      redisUrl === undefined
        ? new storage.SqliteStore({ path: join(dir, 'kv.db') })
        : new storage.RedisStore({ url: redisUrl, prefix: 'tessera:token-service:' });
    stops.push(() => store.close());
    const channel =
      redisUrl === undefined ? new storage.InProcessChannel() : new storage.RedisChannel({ url: redisUrl });
    stops.push(() => channel.close());
    // One session store, shared by the gateway (which writes it) and the services (which read it).
    let sessionStore: KeyValueStore | undefined;
    if (mode !== 'token') {
      const opened =
        redisUrl === undefined
          ? new storage.SqliteStore({ path: join(dir, 'sessions.db') })
          : new storage.RedisStore({ url: redisUrl, prefix: SESSION_KEY_PREFIX });
      stops.push(() => opened.close());
      sessionStore = opened;
    }

    const tokenService = await tokenServicePackage.openTokenService({
      issuer,
      database: database.db,
      store,
      channel,
      secret: options.secret,
      dev: true,
      logger: logger('tessera-token-service'),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      // `tessera users disable` in another terminal signs the user out within a second here.
      deactivationPollMs: devDeactivationPollMs,
    });
    stops.push(() => tokenService.close());
    const users = await openUserDirectory({ db: database.db });
    await tokenServicePackage.applySeed(tokenServicePackage.loadSeedFile(files.seed), {
      service: tokenService,
      users,
      warn: () => {},
    });
    await listenAs('the token service', '--token-service-port', HOST, ports.tokenService, () =>
      tokenService.app.listen({ host: HOST, port: ports.tokenService }),
    );

    let auth: import('@tessera/example-shop').ShopAuth | undefined;
    if (mode === 'token' || mode === 'hybrid') {
      // Hybrid: the gateway sends each call the session's access token, so the services verify tokens.
      const revocations = await resource.subscribeRevocations(channel, resource.REVOCATION_TOPIC, { issuer });
      stops.push(() => revocations.close());
      auth = shop.tokenAuth({ issuer, revocations });
    } else if (sessionStore !== undefined) {
      const { createSessionManager } = await import('@tessera/session');
      auth = shop.sessionAuth({
        manager: createSessionManager({ store: sessionStore, onWarning: () => {} }),
        keys: referenceKeys,
      });
    }
    if (auth === undefined) throw new TypeError('no session store in session mode');
    const secretOf = (clientId: string) =>
      seed.clients.find((c) => c.client_id === clientId)?.client_secret ?? '';
    type ServiceApp = Awaited<ReturnType<typeof shop.createPaymentsService>>;
    const metrics = options.metrics === undefined ? {} : { metrics: options.metrics };
    const services: [ServiceApp, number, string][] = [
      [
        await shop.createPaymentsService({ auth, logger: logger('payments'), ...metrics }),
        ports.payments,
        'payments',
      ],
      [
        await shop.createInventoryService({ auth, logger: logger('inventory'), ...metrics }),
        ports.inventory,
        'inventory',
      ],
      [
        await shop.createOrdersService({
          auth,
          logger: logger('orders'),
          ...metrics,
          client: { tokenEndpoint: `${issuer}/token`, clientId: 'orders', clientSecret: secretOf('orders') },
          inventoryUrl: urls.inventory,
          paymentsUrl: urls.payments,
        }),
        ports.orders,
        'orders',
      ],
    ];
    for (const [app, port, name] of services) {
      stops.push(() => app.close());
      await listenAs(`the ${name} service`, `--${name}-port`, HOST, port, () =>
        app.listen({ host: HOST, port }),
      );
    }

    const { config } = gatewayPackage.loadGatewayConfig({ file: files.gateway, env: {} });
    // The exposure is given here, not written into gateway.yaml: a bearer token is a secret.
    const gateway = await gatewayPackage.createGateway(
      { ...config, ...metrics },
      {
        sessionReferenceKeys: gatewayReferenceKeys,
        clientSecret,
        logDestination: logs,
        // Token routes hear revocations as the services do: on this process's channel (gateway.yaml
        // names the Redis one when there is Redis, for `tessera gateway` run on its own).
        ...(mode === 'token' ? { revocationChannel: channel } : {}),
        ...(sessionStore === undefined ? {} : { sessionStore }),
      },
    );
    stops.push(() => gateway.close());
    await listenAs('the gateway', '--gateway-port', HOST, ports.gateway, () =>
      gateway.listen({ host: HOST, port: ports.gateway }),
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { mode, urls, files, close };
}

function gatewayConfig(
  options: DevSystemOptions,
  urls: DevSystem['urls'],
  databaseUrl: string,
  dir: string,
): Record<string, unknown> {
  const { mode, redisUrl } = options;
  const route = (prefix: string, upstream: string, audience: string) => ({
    prefix,
    upstream,
    auth: mode,
    stripPrefix: true,
    ...(mode === 'session' ? { audience } : {}),
  });
  return {
    listen: { host: HOST, port: options.ports.gateway },
    publicOrigin: urls.gateway,
    logLevel: options.logLevel ?? 'info',
    ...(mode === 'token'
      ? {
          token: {
            issuer: urls.tokenService,
            audience: ['orders', 'inventory'],
            ...(redisUrl === undefined ? {} : { revocations: { url: redisUrl } }),
          },
        }
      : {}),
    ...(mode === 'hybrid'
      ? {
          hybrid: {
            issuer: urls.tokenService,
            clientId: 'gateway',
            redirectUri: `${urls.gateway}/auth/callback`,
            scopes: [...GATEWAY_SCOPES],
            postLogoutRedirectUri: `${urls.gateway}/`,
          },
        }
      : {}),
    ...(mode !== 'token'
      ? {
          session: {
            store:
              redisUrl === undefined
                ? { type: 'sqlite', path: join(dir, 'sessions.db') }
                : { type: 'redis', url: redisUrl, keyPrefix: SESSION_KEY_PREFIX },
            insecureHttpLocalhost: true,
          },
          ...(mode === 'session'
            ? { identity: { database: databaseUrl, deactivationPollMs: devDeactivationPollMs } }
            : {}),
        }
      : {}),
    routes: [
      route('/api/orders', urls.orders, 'orders'),
      route('/api/inventory', urls.inventory, 'inventory'),
    ],
  };
}
