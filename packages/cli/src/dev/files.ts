import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { type DevPorts, derivedSecret, devClientSecret, devSeed, devUrls, GATEWAY_SCOPES } from './seed.js';

export type DevMode = 'token' | 'session' | 'hybrid';

export interface DevFilesOptions {
  readonly mode: DevMode;
  /** Where the databases and the config files go (`.tessera`). */
  readonly dir: string;
  /** The service secret (TESSERA_SECRET or the development secret file). */
  readonly secret: string;
  /** `sqlite:FILE` or `postgres://…`; default `sqlite:<dir>/tessera.db`. */
  readonly databaseUrl?: string;
  /** Redis for sessions, rate limits and revocation events; default SQLite and in-process. */
  readonly redisUrl?: string;
  /** Where each part is reached (its URL is `http://127.0.0.1:<port>`). */
  readonly ports: DevPorts;
  /** The gateway's log level; default `info`. */
  readonly logLevel?: 'info' | 'warn' | 'silent';
  /**
   * Sessions in each gateway's own memory instead of the shared store: what a gateway without
   * replication has (`tessera compare`'s session-memory mode). Default false.
   */
  readonly sessionsInMemory?: boolean;
  /** The gateway's verified-token cache entries (token mode); 0 turns it off. Default the gateway's. */
  readonly tokenCacheSize?: number;
  /** A report file the gateway's page links to (`tessera dev`: `tessera compare`'s latest). */
  readonly pageReport?: string;
}

/** Where `writeDevFiles` put each file, by name. */
export interface DevFiles {
  readonly gateway: string;
  readonly seed: string;
  readonly referenceSecret: string;
  readonly clientSecret: string;
}

/** Everything the parts of the development system are started from, once the files are written. */
export interface WrittenDevFiles {
  readonly dir: string;
  readonly databaseUrl: string;
  readonly urls: { readonly [part in keyof DevPorts]: string };
  readonly issuer: string;
  readonly referenceSecret: string;
  readonly clientSecret: string;
  readonly seed: ReturnType<typeof devSeed>;
  readonly files: DevFiles;
  /** The environment a `tessera gateway` process of this system needs (its secrets). */
  readonly gatewayEnv: Readonly<Record<string, string>>;
}

const HOST = '127.0.0.1';
/** The session store's key prefix, the same for the gateway (which writes) and the services (which read). */
export const DEV_SESSION_KEY_PREFIX = 'tessera:gateway:';

/** How often the dev system looks for users disabled by another process (the default is 5 s). */
export const DEV_DEACTIVATION_POLL_MS = 1000;

/** Writes a file only its owner can read: it may hold secrets. */
async function writePrivate(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

/**
 * Writes the files every part of the development system is started from: `seed.yaml` for
 * `tessera token-service --seed`, `gateway.yaml` and the secrets for `tessera gateway`. This is
 * the one way the system's configuration is made: `tessera dev` runs the parts from it in one
 * process, `tessera compare` runs each as a process of its own.
 */
export async function writeDevFiles(options: DevFilesOptions): Promise<WrittenDevFiles> {
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const databaseUrl = options.databaseUrl ?? `sqlite:${join(dir, 'tessera.db')}`;
  const urls = devUrls(options.ports);
  const issuer = urls.tokenService;
  const referenceSecret = derivedSecret(options.secret, 'session references');
  const clientSecret = devClientSecret(options.secret, 'gateway');
  const seed = devSeed(options.secret, urls.gateway);
  const files: DevFiles = {
    gateway: join(dir, 'gateway.yaml'),
    seed: join(dir, 'seed.yaml'),
    referenceSecret: join(dir, 'session-reference-secret'),
    clientSecret: join(dir, 'gateway-client-secret'),
  };
  await writePrivate(files.seed, stringify(seed));
  await writePrivate(files.referenceSecret, `${referenceSecret}\n`);
  await writePrivate(files.clientSecret, `${clientSecret}\n`);
  await writePrivate(files.gateway, stringify(gatewayConfig(options, urls, databaseUrl, dir)));
  const gatewayEnv = {
    TESSERA_SESSION_REFERENCE_SECRET: referenceSecret,
    TESSERA_GATEWAY_CLIENT_SECRET: clientSecret,
  };
  return { dir, databaseUrl, urls, issuer, referenceSecret, clientSecret, seed, files, gatewayEnv };
}

function gatewayConfig(
  options: DevFilesOptions,
  urls: WrittenDevFiles['urls'],
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
  const sessionStore =
    options.sessionsInMemory === true
      ? { type: 'memory' }
      : redisUrl === undefined
        ? { type: 'sqlite', path: join(dir, 'sessions.db') }
        : { type: 'redis', url: redisUrl, keyPrefix: DEV_SESSION_KEY_PREFIX };
  return {
    listen: { host: HOST, port: options.ports.gateway },
    logLevel: options.logLevel ?? 'info',
    ...(options.pageReport === undefined ? {} : { pageReport: options.pageReport }),
    ...(mode === 'token'
      ? {
          token: {
            issuer: urls.tokenService,
            audience: ['orders', 'inventory'],
            ...(options.tokenCacheSize === undefined ? {} : { cacheSize: options.tokenCacheSize }),
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
          session: { store: sessionStore, insecureHttpLocalhost: true },
          ...(mode === 'session'
            ? { identity: { database: databaseUrl, deactivationPollMs: DEV_DEACTIVATION_POLL_MS } }
            : {}),
        }
      : {}),
    routes: [
      route('/api/orders', urls.orders, 'orders'),
      route('/api/inventory', urls.inventory, 'inventory'),
    ],
  };
}
