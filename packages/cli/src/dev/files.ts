import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PartKeys, ReferenceKey } from '@tessera/resource/session';
import { stringify } from 'yaml';
import { loadShop } from '../lib/shop.js';
import {
  type DevPorts,
  derivedSecret,
  devClientSecret,
  devSeed,
  devUrls,
  GATEWAY_SCOPES,
  SHOP_WEB_CLIENT,
  SHOP_WEB_SCOPES,
} from './seed.js';

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
  /** Whether a token-mode gateway hears the revocation events on Redis. Default true. */
  readonly revocationEvents?: boolean;
  /** A report file the gateway's page links to (`tessera dev`: `tessera compare`'s latest). */
  readonly pageReport?: string;
  /**
   * A user's own gateway routes instead of the shop's (`tessera compare --config`): their
   * prefixes and upstreams as the user wrote them; session routes' audiences get reference keys.
   */
  readonly routes?: readonly Readonly<Record<string, unknown>>[];
  /**
   * DPoP mode (`tessera dev --dpop`, token and hybrid modes): tokens bound to their holder at
   * every hop. The gateway's token routes check proofs and exchange for each upstream (hybrid: the
   * session's tokens bound to the gateway's key); orders binds what it exchanges to its own key;
   * the services take DPoP only. Default false.
   */
  readonly dpop?: boolean;
  /**
   * Mutual TLS between the parts (`tessera dev --mtls`): the shop's services on https, orders a
   * `tls_client_auth` client with certificate-bound tokens, and `port` the token service's mutual
   * TLS listener (RFC 8705 5). Default off.
   */
  readonly mtls?: { readonly port: number };
}

/** Where `writeDevFiles` put each file, by name. */
export interface DevFiles {
  readonly gateway: string;
  readonly seed: string;
  /** The gateway's session reference keys, as `TESSERA_SESSION_REFERENCE_KEYS` takes them. */
  readonly referenceKeys: string;
  readonly clientSecret: string;
}

/** Everything the parts of the development system are started from, once the files are written. */
export interface WrittenDevFiles {
  readonly dir: string;
  readonly databaseUrl: string;
  readonly urls: { readonly [part in keyof DevPorts]: string };
  readonly issuer: string;
  /** Each part's session reference keys (what it opens, by caller; what it mints, by audience). */
  readonly referenceKeys: Readonly<Record<string, PartKeys>>;
  readonly clientSecret: string;
  readonly seed: ReturnType<typeof devSeed>;
  readonly files: DevFiles;
  /** The environment a `tessera gateway` process of this system needs (its secrets). */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  /** The environment a `tessera shop-service NAME` process needs: its own reference keys only. */
  readonly serviceEnv: (service: string) => Readonly<Record<string, string>>;
}

/** Keys as text for an environment variable (`peer=keyid:secret,...`), the form parseReferenceKeys reads. */
export function referenceKeysText(
  keys: Readonly<Record<string, ReferenceKey | readonly ReferenceKey[]>>,
): string {
  return Object.entries(keys)
    .flatMap(([peer, entry]) =>
      (Array.isArray(entry) ? entry : [entry]).map(
        (key: ReferenceKey) => `${peer}=${key.id}:${String(key.secret)}`,
      ),
    )
    .join(',');
}

/** The variables a shop service reads its session reference keys from (`tessera shop-service`). */
export const SERVICE_ACCEPT_KEYS_VARIABLE = 'TESSERA_SESSION_REFERENCE_ACCEPT';
export const SERVICE_MINT_KEYS_VARIABLE = 'TESSERA_SESSION_REFERENCE_MINT';

const HOST = '127.0.0.1';
/** The session store's key prefix, the same for the gateway (which writes) and the services (which read). */
export const DEV_SESSION_KEY_PREFIX = 'tessera:gateway:';

/** Where proof ids are remembered on Redis (`--dpop`), by the gateway and the services alike. */
export const DEV_DPOP_KEY_PREFIX = 'tessera:dpop:';

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
  const urls = devUrls(options.ports, options.mtls !== undefined);
  const issuer = urls.tokenService;
  // One key per edge (the gateway to each service it routes to, and each call the shop makes),
  // derived here from one master; each part is then given only the keys of its own edges.
  const resourceSession = await import('@tessera/resource/session');
  const shop = await loadShop();
  const referenceMaster = derivedSecret(options.secret, 'session references');
  const edges: readonly (readonly [string, string])[] =
    options.routes === undefined
      ? [['gateway', 'orders'], ['gateway', 'inventory'], ...shop.SHOP_CALLS]
      : options.routes.flatMap((route) =>
          typeof route.audience === 'string' ? [['gateway', route.audience] as const] : [],
        );
  const referenceKeys = resourceSession.keysByPart(edges, (from, to) => [
    resourceSession.deriveReferenceKey(referenceMaster, from, to, 'k1'),
  ]);
  const gatewayKeysText = referenceKeysText(referenceKeys.gateway?.mint ?? {});
  const clientSecret = devClientSecret(options.secret, 'gateway');
  const seed = devSeed(options.secret, urls.gateway, {
    dpop: options.dpop === true,
    mtls: options.mtls !== undefined,
  });
  const files: DevFiles = {
    gateway: join(dir, 'gateway.yaml'),
    seed: join(dir, 'seed.yaml'),
    referenceKeys: join(dir, 'session-reference-keys'),
    clientSecret: join(dir, 'gateway-client-secret'),
  };
  await writePrivate(files.seed, stringify(seed));
  await writePrivate(files.referenceKeys, `${gatewayKeysText}\n`);
  await writePrivate(files.clientSecret, `${clientSecret}\n`);
  await writePrivate(files.gateway, stringify(gatewayConfig(options, urls, databaseUrl, dir)));
  const gatewayEnv = {
    TESSERA_SESSION_REFERENCE_KEYS: gatewayKeysText,
    TESSERA_GATEWAY_CLIENT_SECRET: clientSecret,
  };
  const serviceEnv = (service: string) => {
    const own = referenceKeys[service];
    return {
      [SERVICE_ACCEPT_KEYS_VARIABLE]: referenceKeysText(own?.accept ?? {}),
      [SERVICE_MINT_KEYS_VARIABLE]: referenceKeysText(own?.mint ?? {}),
    };
  };
  return { dir, databaseUrl, urls, issuer, referenceKeys, clientSecret, seed, files, gatewayEnv, serviceEnv };
}

function gatewayConfig(
  options: DevFilesOptions,
  urls: WrittenDevFiles['urls'],
  databaseUrl: string,
  dir: string,
): Record<string, unknown> {
  const { mode, redisUrl } = options;
  const dpop = options.dpop === true;
  const mtls = options.mtls !== undefined;
  const route = (prefix: string, upstream: string, audience: string) => ({
    prefix,
    upstream,
    auth: mode,
    stripPrefix: true,
    ...(mode === 'session' ? { audience } : {}),
    // DPoP: a bound token is never forwarded as it came; the edge exchanges it for the upstream.
    // Mutual TLS: the user's token is never forwarded; the edge exchanges it for one bound to its certificate.
    ...(mode === 'token' && (dpop || mtls) ? { exchange: { audience } } : {}),
  });
  const proofStore =
    redisUrl === undefined
      ? { type: 'sqlite', path: join(dir, 'dpop-proofs.db') }
      : { type: 'redis', url: redisUrl, keyPrefix: DEV_DPOP_KEY_PREFIX };
  const sessionStore =
    options.sessionsInMemory === true
      ? { type: 'memory' }
      : redisUrl === undefined
        ? { type: 'sqlite', path: join(dir, 'sessions.db') }
        : { type: 'redis', url: redisUrl, keyPrefix: DEV_SESSION_KEY_PREFIX };
  return {
    listen: { host: HOST, port: options.ports.gateway },
    publicOrigin: urls.gateway,
    logLevel: options.logLevel ?? 'info',
    ...(options.pageReport === undefined ? {} : { pageReport: options.pageReport }),
    ...(mode === 'token'
      ? {
          token: {
            issuer: urls.tokenService,
            // With DPoP or mutual TLS the gateway exchanges every token, so it takes those meant for itself.
            audience: dpop || mtls ? ['gateway'] : ['orders', 'inventory'],
            ...(dpop || mtls ? { clientId: 'gateway' } : {}),
            // The page and `tessera login` get bearer tokens; the edge binds what goes on.
            ...(dpop ? { dpop: { allowBearer: true, store: proofStore } } : {}),
            ...(mtls ? { mtls: true } : {}),
            ...(options.tokenCacheSize === undefined ? {} : { cacheSize: options.tokenCacheSize }),
            ...(redisUrl === undefined || options.revocationEvents === false
              ? {}
              : { revocations: { url: redisUrl } }),
            // The page signs users in itself, as the seed's public client for it.
            pageClient: { clientId: SHOP_WEB_CLIENT, scopes: [...SHOP_WEB_SCOPES] },
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
            ...(dpop ? { dpop: true } : {}),
            // The session's tokens bound to the gateway's certificate, the one it presents upstream.
            ...(options.mtls === undefined ? {} : { mtls: true }),
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
    routes: options.routes ?? [
      route('/api/orders', urls.orders, 'orders'),
      route('/api/inventory', urls.inventory, 'inventory'),
    ],
  };
}
