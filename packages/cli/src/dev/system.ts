import { join, resolve } from 'node:path';
import { DpopProofSigner, type MetricsExposure, REVOCATION_TOPIC, TesseraTypeError } from '@tessera/core';
import type { ShopAuth } from '@tessera/example-shop';
import type { KeyValueStore } from '@tessera/storage';
import { openDatabase } from '../commands/service-secret.js';
import { listenAs } from '../lib/listen.js';
import { type LogOutput, logStream, partLogger } from '../lib/logging.js';
import { loadShop } from '../lib/shop.js';
import type { DevCertificates, MtlsPart } from './certificates.js';
import {
  DEV_DEACTIVATION_POLL_MS,
  DEV_DPOP_KEY_PREFIX,
  DEV_SESSION_KEY_PREFIX,
  type DevFilesOptions,
  type DevMode,
  writeDevFiles,
} from './files.js';
import type { DevPorts } from './seed.js';

export type { DevMode } from './files.js';

export type DevSystemOptions = Omit<
  DevFilesOptions,
  'sessionsInMemory' | 'tokenCacheSize' | 'revocationEvents'
> & {
  /** Where and how every part logs (one JSON stream by default); `logLevel` is every part's. */
  readonly logs?: LogOutput;
  /** Where every part (token service, gateway, each shop service) serves `/metrics`; default nowhere. */
  readonly metrics?: MetricsExposure;
};

export interface DevSystem {
  readonly mode: DevMode;
  /** Whether tokens are DPoP-bound at every hop (`--dpop`). */
  readonly dpop: boolean;
  readonly urls: { readonly [part in keyof DevPorts]: string };
  /** The files written under `dir`, by name. */
  readonly files: {
    readonly gateway: string;
    readonly seed: string;
    /** The gateway's session reference keys, one per audience it routes to (`TESSERA_SESSION_REFERENCE_KEYS`). */
    readonly referenceKeys: string;
    readonly clientSecret: string;
  };
  /** With mutual TLS: the development CA and each part's certificate, and the token service's mTLS listener. */
  readonly mtls?: { readonly certificates: DevCertificates; readonly tokenService: string };
  /** Stops every part, the last started first. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * Starts the whole demo system in this process: the token service, the three shop services and
 * the gateway, in `token` or `session` mode. It first writes the files each part can be started
 * again from (`seed.yaml` for `tessera token-service --seed`, `gateway.yaml` and the gateway's
 * session reference keys for `tessera gateway`), then runs every part from them.
 */
export async function startDevSystem(options: DevSystemOptions): Promise<DevSystem> {
  const { mode, ports, redisUrl } = options;
  // The page links the latest `tessera compare` report, which it writes under `<dir>/reports`
  // (`.tessera/reports` by default, as this is `.tessera`).
  const written = await writeDevFiles({
    ...options,
    pageReport: join(resolve(options.dir), 'reports', 'latest.html'),
  });
  const { dir, databaseUrl, urls, issuer, referenceKeys, clientSecret, seed, files } = written;
  const gatewayReferenceKeys = referenceKeys.gateway?.mint ?? {};
  const shop = await loadShop();
  // Loaded only for --mtls: the X.509 library installs the Reflect metadata polyfill.
  const certificates =
    options.mtls === undefined ? undefined : await (await import('./certificates.js')).devCertificates(dir);
  const mtlsOrigin = options.mtls === undefined ? undefined : `https://${HOST}:${options.mtls.port}`;
  /** A part's certificate with the CA, as a TLS listener or an undici Agent takes them. */
  const tlsOf = (part: MtlsPart) =>
    certificates === undefined ? undefined : { ...certificates.parts[part], ca: certificates.ca };
  /** `{ [name]: tlsOf(part) }` to spread into a part's options, or nothing without mutual TLS. */
  const tlsAs = <K extends string>(name: K, part: MtlsPart) => {
    const tls = tlsOf(part);
    return (tls === undefined ? {} : { [name]: tls }) as {
      [key in K]?: NonNullable<ReturnType<typeof tlsOf>>;
    };
  };

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
          : new storage.RedisStore({ url: redisUrl, prefix: DEV_SESSION_KEY_PREFIX });
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
      deactivationPollMs: DEV_DEACTIVATION_POLL_MS,
      ...(certificates === undefined || mtlsOrigin === undefined
        ? {}
        : {
            mtlsAliases: {
              origin: mtlsOrigin,
              ...certificates.parts['token-service'],
              clientCa: certificates.ca,
            },
          }),
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
    if (options.mtls !== undefined) {
      const mtlsPort = options.mtls.port;
      const aliases = await listenAs(
        'the token service (mutual TLS)',
        '--token-service-mtls-port',
        HOST,
        mtlsPort,
        () => tokenServicePackage.listenMtlsAliases(tokenService, { host: HOST, port: mtlsPort }),
      );
      stops.push(() => aliases.close());
    }

    // --dpop: one store of proof ids for the gateway and the services (each proof names one URL).
    const dpop = options.dpop === true && mode !== 'session';
    let proofs: KeyValueStore | undefined;
    if (dpop) {
      const opened =
        redisUrl === undefined
          ? new storage.SqliteStore({ path: join(dir, 'dpop-proofs.db') })
          : new storage.RedisStore({ url: redisUrl, prefix: DEV_DPOP_KEY_PREFIX });
      stops.push(() => opened.close());
      proofs = opened;
    }
    let auth: ShopAuth | undefined;
    if (mode === 'token' || mode === 'hybrid') {
      // Hybrid: the gateway sends each call the session's access token, so the services verify tokens.
      const revocations = await resource.subscribeRevocations(channel, REVOCATION_TOPIC, { issuer });
      stops.push(() => revocations.close());
      auth = shop.tokenAuth({
        issuer,
        revocations,
        ...(proofs === undefined ? {} : { dpop: { replay: proofs } }),
        // --mtls: the services take certificate-bound tokens only, from the certificate's connection.
        ...(certificates === undefined ? {} : { mtls: true }),
      });
    } else if (sessionStore !== undefined) {
      const { createSessionManager } = await import('@tessera/session');
      auth = shop.sessionAuth({
        manager: createSessionManager({ store: sessionStore, onWarning: () => {} }),
        keys: referenceKeys,
      });
    }
    if (auth === undefined)
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'no session store in session mode');
    const secretOf = (clientId: string) => {
      const client: { client_secret?: string } | undefined = seed.clients.find(
        (c) => c.client_id === clientId,
      );
      return client?.client_secret ?? '';
    };
    // orders calls the token service and the other services: with mutual TLS, every call presents
    // its certificate (an undici Agent), and the token service authenticates it by that.
    const ordersClient = async () => {
      const tls = tlsOf('orders');
      if (tls === undefined || mtlsOrigin === undefined) {
        return {
          tokenEndpoint: `${issuer}/token`,
          clientId: 'orders',
          clientSecret: secretOf('orders'),
          // orders' own key, made for this process: what it exchanges is bound to it.
          ...(dpop ? { dpop: await DpopProofSigner.generate() } : {}),
        };
      }
      const { Agent } = await import('undici');
      const dispatcher = new Agent({ connect: tls });
      stops.push(() => dispatcher.close());
      return { tokenEndpoint: `${mtlsOrigin}/token`, clientId: 'orders', dispatcher };
    };
    type ServiceApp = Awaited<ReturnType<typeof shop.createPaymentsService>>;
    const metrics = options.metrics === undefined ? {} : { metrics: options.metrics };
    const services: [ServiceApp, number, string][] = [
      [
        await shop.createPaymentsService({
          auth,
          logger: logger('payments'),
          ...metrics,
          ...tlsAs('tls', 'payments'),
        }),
        ports.payments,
        'payments',
      ],
      [
        await shop.createInventoryService({
          auth,
          logger: logger('inventory'),
          ...metrics,
          ...tlsAs('tls', 'inventory'),
        }),
        ports.inventory,
        'inventory',
      ],
      [
        await shop.createOrdersService({
          auth,
          logger: logger('orders'),
          ...metrics,
          ...tlsAs('tls', 'orders'),
          client: await ordersClient(),
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
        ...tlsAs('upstreamTls', 'gateway'),
        logDestination: logs,
        // Token routes hear revocations as the services do: on this process's channel (gateway.yaml
        // names the Redis one when there is Redis, for `tessera gateway` run on its own).
        ...(mode === 'token' ? { revocationChannel: channel } : {}),
        ...(sessionStore === undefined ? {} : { sessionStore }),
        ...(proofs === undefined ? {} : { dpopReplayStore: proofs }),
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
  return {
    mode,
    dpop: options.dpop === true && mode !== 'session',
    urls,
    files,
    ...(certificates === undefined || mtlsOrigin === undefined
      ? {}
      : { mtls: { certificates, tokenService: mtlsOrigin } }),
    close,
  };
}
