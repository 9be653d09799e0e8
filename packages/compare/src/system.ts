import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { DelayProxy } from './delay-proxy.js';
import type { ModeDefinition } from './modes.js';
import type { ComparePlatform, SystemPorts, UserRoute } from './platform.js';
import type { ProbeRequest, ProbeStats } from './probe.js';
import { freePort, type Part, type PartRegistry, type PartSpec, runToEnd } from './processes.js';
import { commandCalls } from './redis.js';

const SERVICES = ['inventory', 'payments', 'orders'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** One mode's parts, each a process, and the ways the phases reach and measure them. */
export interface ModeSystem {
  readonly mode: ModeDefinition;
  readonly parts: readonly Part[];
  readonly redis: Part | undefined;
  readonly redisPort: number | undefined;
  readonly tokenService: Part;
  readonly gateways: readonly Part[];
  /** The gateways' addresses, as the load generator reaches them (no delay at the edge). */
  readonly gatewayUrls: readonly string[];
  /**
   * The origin both gateways know themselves by (their config's `publicOrigin`, gateway A's
   * address, as behind a load balancer): the URL a DPoP proof at the edge names.
   */
  readonly publicOrigin: string;
  /** The token service as a client reaches it. */
  readonly issuer: string;
  /** Each service's own address, for revocation checks made straight at it. */
  readonly serviceUrls: Readonly<Partial<Record<ServiceName, string>>>;
  readonly services: Readonly<Partial<Record<ServiceName, Part>>>;
  readonly databaseUrl: string;
  readonly secret: string;
  /** Store commands so far, or null without a shared store. */
  storeCalls(): Promise<number | null>;
  /** Requests the token service answered so far (its /metrics), the scrape itself left out. */
  tokenServiceCalls(): Promise<number | null>;
  /** What each service served since the last reset. */
  probe(reset: boolean): Promise<Partial<Record<ServiceName, ProbeStats>>>;
  /** Rotates the signing keys as an operator would (`tessera keys rotate`). */
  rotateKeys(): Promise<void>;
}

export interface StartSystemOptions {
  readonly platform: ComparePlatform;
  readonly registry: PartRegistry;
  readonly mode: ModeDefinition;
  readonly dir: string;
  readonly hopLatencyMs: number;
  readonly proxies: DelayProxy[];
  /**
   * The run's one redis-server (started once, flushed between modes), on `port`; undefined when
   * no mode of the run needs a store.
   */
  readonly redis?: { readonly part: Part; readonly port: number };
  /** A user's own routes (`--config`), this mode's kind: no shop service is started. */
  readonly routes?: readonly UserRoute[];
}

const LISTENING = /listening on/;

/**
 * Starts one mode's system: a private redis-server, the token service, the three shop services
 * and two gateways, each its own process, every hop between them through a delay proxy when
 * `hopLatencyMs` is set. The configuration is written by the platform, the dev system's way.
 */
export async function startSystem(options: StartSystemOptions): Promise<ModeSystem> {
  const { platform, registry, mode, hopLatencyMs, proxies } = options;
  const dir = options.dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  const tessera = (
    name: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    ipc = false,
  ): PartSpec => ({
    name,
    command: platform.tessera.command,
    args: [...platform.tessera.args, ...args],
    env,
    ready: LISTENING,
    ipc,
  });

  // Each part listens on its own port; the others reach it on `reach` (a delay proxy, or the same port).
  const needsStore = !mode.sessionsInMemory;
  if (needsStore && options.redis === undefined) throw new Error(`${mode.name} needs the run's redis-server`);
  const own = {
    redis: options.redis?.port ?? (await freePort()),
    tokenService: await freePort(),
    orders: await freePort(),
    inventory: await freePort(),
    payments: await freePort(),
    gateways: [await freePort(), await freePort()],
  };
  const reach = async (port: number): Promise<number> => {
    if (hopLatencyMs <= 0) return port;
    const proxy = new DelayProxy(port, hopLatencyMs);
    await proxy.listen(0);
    proxies.push(proxy);
    return proxy.port;
  };
  const reached: SystemPorts & { redis: number } = {
    redis: await reach(own.redis),
    tokenService: await reach(own.tokenService),
    orders: await reach(own.orders),
    inventory: await reach(own.inventory),
    payments: await reach(own.payments),
    // The edge has no delay: the load generator is the outside world.
    gateway: own.gateways[0] as number,
  };
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const redisUrl = `redis://127.0.0.1:${reached.redis}`;
  const prepared = await platform.prepare({
    devMode: mode.devMode,
    dir,
    secret,
    redisUrl,
    ports: reached,
    sessionsInMemory: mode.sessionsInMemory,
    revocationEvents: mode.revocationEvents,
    ...(mode.cache ? {} : { tokenCacheSize: 0 }),
    ...(mode.dpop ? { dpop: true } : {}),
    ...(options.routes === undefined ? {} : { routes: options.routes }),
  });
  const shopServices = mode.services !== 'none' && options.routes === undefined;

  const redis = needsStore ? options.redis?.part : undefined;
  const tokenServiceArgs = (seed: boolean) => [
    'token-service',
    '--port',
    String(own.tokenService),
    '--issuer',
    prepared.issuer,
    '--db',
    prepared.databaseUrl,
    // The seed is applied once; a restart (token_service_down) starts from the database as it is.
    ...(seed ? ['--seed', prepared.seed] : []),
    ...(needsStore ? ['--redis', redisUrl] : []),
    '--dev',
    '--key-reload-interval',
    '1000',
    '--deactivation-poll',
    '0',
  ];
  // The token service first: a token-mode service reads its metadata at start, a session
  // gateway opens the user directory it made and seeded. Then the five others at once.
  const tokenService = await registry.start({
    ...tessera('token-service', tokenServiceArgs(true), { TESSERA_SECRET: secret }),
    restartArgs: [...platform.tessera.args, ...tokenServiceArgs(false)],
  });

  const services: Partial<Record<ServiceName, Part>> = {};
  const serviceUrls: Partial<Record<ServiceName, string>> = {};
  const startingServices = !shopServices
    ? Promise.resolve([])
    : Promise.all(
        SERVICES.map((name) =>
          registry.start(
            tessera(
              name,
              [
                'shop-service',
                name,
                '--mode',
                mode.services,
                '--port',
                String(own[name]),
                '--issuer',
                prepared.issuer,
                '--redis',
                redisUrl,
                '--inventory-url',
                url(reached.inventory),
                '--payments-url',
                url(reached.payments),
                // A load run places many orders: the shop's stock of 500 would sell out (409) within seconds.
                ...(name === 'inventory' ? ['--stock', '1000000000'] : []),
                ...(mode.cache ? [] : ['--no-cache']),
                ...(mode.revocationEvents ? [] : ['--no-revocation-events']),
                ...(mode.dpop ? ['--dpop'] : []),
              ],
              prepared.serviceEnv(name),
              true,
            ),
          ),
        ),
      );
  const startingGateways = Promise.all(
    own.gateways.map((port, i) =>
      registry.start(
        tessera(
          `gateway-${'ab'[i]}`,
          ['gateway', '--config', prepared.gatewayConfig, '--port', String(port)],
          prepared.gatewayEnv,
        ),
      ),
    ),
  );
  const [started, gateways] = await Promise.all([startingServices, startingGateways]);
  if (shopServices) {
    SERVICES.forEach((name, i) => {
      services[name] = started[i] as Part;
      serviceUrls[name] = url(own[name]);
    });
  }
  const parts = [redis, tokenService, ...Object.values(services), ...gateways].filter(
    (part): part is Part => part !== undefined,
  );

  return {
    mode,
    parts,
    redis,
    redisPort: redis === undefined ? undefined : own.redis,
    tokenService,
    gateways,
    gatewayUrls: own.gateways.map(url),
    publicOrigin: url(reached.gateway),
    issuer: url(own.tokenService),
    serviceUrls,
    services,
    databaseUrl: prepared.databaseUrl,
    secret,
    async storeCalls() {
      if (redis === undefined || !redis.running) return null;
      return commandCalls(own.redis);
    },
    async tokenServiceCalls() {
      try {
        const response = await fetch(`${url(own.tokenService)}/metrics`, {
          signal: AbortSignal.timeout(3_000),
        });
        const text = await response.text();
        let total = 0;
        for (const match of text.matchAll(
          /^tessera_http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm,
        )) {
          if (!(match[1] ?? '').includes('route="/metrics"')) total += Number(match[2]);
        }
        return total;
      } catch {
        return null;
      }
    },
    async probe(reset) {
      const entries = await Promise.all(
        Object.entries(services).map(async ([name, part]) => [name, await readProbe(part, reset)] as const),
      );
      const result: Partial<Record<ServiceName, ProbeStats>> = {};
      for (const [name, stats] of entries) if (stats !== undefined) result[name as ServiceName] = stats;
      return result;
    },
    async rotateKeys() {
      // As an operator would: the second step waits until every instance serves the next key
      // (two of the token service's 1 s reloads), as `keys rotate` insists.
      const args = ['keys', 'rotate', '--db', prepared.databaseUrl, '--publish-ahead', '2', '--wait'];
      const env = { TESSERA_SECRET: secret };
      if (platform.runCommand !== undefined) await platform.runCommand(args, env);
      else await runToEnd(platform.tessera.command, [...platform.tessera.args, ...args], env);
    },
  };
}

/** Asks one service's probe for its figures; undefined if it does not answer within a second. */
function readProbe(part: Part, reset: boolean): Promise<ProbeStats | undefined> {
  const child = part.child;
  if (child === undefined || !part.running || child.send === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(undefined), 1_000);
    const onMessage = (message: ProbeStats) => {
      if (message?.type === 'probe:stats') finish(message);
    };
    const finish = (stats: ProbeStats | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(stats);
    };
    child.on('message', onMessage);
    const request: ProbeRequest = { type: 'probe:read', reset };
    child.send(request);
  });
}
