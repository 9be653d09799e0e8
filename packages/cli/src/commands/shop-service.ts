import { DpopProofSigner, type DpopReplayStore, REVOCATION_TOPIC } from '@tessera/core';
import type { ShopAuth } from '@tessera/example-shop';
import { type Command, Option } from 'commander';
import type { CliContext } from '../context.js';
import {
  DEV_DPOP_KEY_PREFIX,
  DEV_SESSION_KEY_PREFIX,
  SERVICE_ACCEPT_KEYS_VARIABLE,
  SERVICE_MINT_KEYS_VARIABLE,
} from '../dev/files.js';
import { integer, usage } from '../lib/options.js';
import { loadShop } from '../lib/shop.js';
import { announceThenWaitForSignal } from '../lib/signals.js';
import { withTracing } from '../lib/tracing.js';

interface ShopServiceOptions {
  readonly mode: 'token' | 'session';
  readonly port: number;
  readonly issuer?: string;
  readonly redis?: string;
  readonly inventoryUrl?: string;
  readonly paymentsUrl?: string;
  readonly cache: boolean;
  readonly revocationEvents: boolean;
  readonly dpop?: boolean;
  readonly stock?: number;
}

/** This service's own session reference keys (session mode): what it opens and what it mints. */
const REFERENCE_KEYS_VARIABLES = `${SERVICE_ACCEPT_KEYS_VARIABLE} and ${SERVICE_MINT_KEYS_VARIABLE}`;
/** The service's client secret at the token service (orders: token exchange). */
const CLIENT_SECRET_VARIABLE = 'TESSERA_SHOP_CLIENT_SECRET';

const SHOP_SERVICES = ['orders', 'inventory', 'payments'] as const;
type ShopServiceName = (typeof SHOP_SERVICES)[number];

async function run(name: string, options: ShopServiceOptions, context: CliContext): Promise<void> {
  if (!(SHOP_SERVICES as readonly string[]).includes(name)) {
    throw usage(`the service must be one of ${SHOP_SERVICES.join(', ')}`);
  }
  const service = name as ShopServiceName;
  if (options.issuer === undefined) throw usage('--issuer is required (the token service)');
  if (options.mode === 'session' && options.redis === undefined) {
    throw usage('--redis is required in session mode (the session store the gateway writes)');
  }
  if (options.dpop === true && (options.mode !== 'token' || options.redis === undefined)) {
    throw usage('--dpop takes token mode and --redis (where the proof ids are remembered)');
  }
  const { io, env } = context;
  const storage = await import('@tessera/storage');
  const shop = await loadShop();
  const stops: (() => Promise<void>)[] = [];
  try {
    let auth: ShopAuth;
    if (options.mode === 'token') {
      let revocations: import('@tessera/resource').Revocations | undefined;
      if (options.revocationEvents && options.redis !== undefined) {
        const resource = await import('@tessera/resource');
        const channel = new storage.RedisChannel({ url: options.redis });
        stops.push(() => channel.close());
        const subscribed = await resource.subscribeRevocations(channel, REVOCATION_TOPIC, {
          issuer: options.issuer,
        });
        stops.push(() => subscribed.close());
        revocations = subscribed;
      }
      // --dpop: DPoP only, each proof's jti remembered where the gateway and the others remember theirs.
      let replay: DpopReplayStore | undefined;
      if (options.dpop === true) {
        const proofs = new storage.RedisStore({ url: options.redis ?? '', prefix: DEV_DPOP_KEY_PREFIX });
        stops.push(() => proofs.close());
        replay = proofs;
      }
      auth = shop.tokenAuth({
        issuer: options.issuer,
        cache: options.cache,
        ...(revocations === undefined ? {} : { revocations }),
        ...(replay === undefined ? {} : { dpop: { replay } }),
      });
    } else {
      const accept = env[SERVICE_ACCEPT_KEYS_VARIABLE];
      if (accept === undefined || accept.length === 0) {
        throw new Error(`${SERVICE_ACCEPT_KEYS_VARIABLE} must be set in session mode`);
      }
      const { createSessionManager } = await import('@tessera/session');
      const { parseMintingKeys, parseReferenceKeys } = await import('@tessera/resource/session');
      const store = new storage.RedisStore({ url: options.redis ?? '', prefix: DEV_SESSION_KEY_PREFIX });
      stops.push(() => store.close());
      // Only this service's own keys: it opens references made for it and mints for its calls.
      const keys = {
        accept: parseReferenceKeys(accept),
        mint: parseMintingKeys(env[SERVICE_MINT_KEYS_VARIABLE] ?? ''),
      };
      auth = shop.sessionAuth({
        manager: createSessionManager({ store, onWarning: () => {} }),
        keys: { [service]: keys },
      });
    }
    let app: Awaited<ReturnType<typeof shop.createPaymentsService>>;
    if (service === 'orders') {
      if (options.inventoryUrl === undefined || options.paymentsUrl === undefined) {
        throw usage('orders needs --inventory-url and --payments-url');
      }
      app = await shop.createOrdersService({
        auth,
        client: {
          tokenEndpoint: `${options.issuer}/token`,
          clientId: 'orders',
          clientSecret: env[CLIENT_SECRET_VARIABLE] ?? '',
          // orders' own key, made for this process: what it exchanges is bound to it.
          ...(options.dpop === true ? { dpop: await DpopProofSigner.generate() } : {}),
        },
        inventoryUrl: options.inventoryUrl,
        paymentsUrl: options.paymentsUrl,
      });
    } else if (service === 'inventory') {
      const stock = options.stock;
      app = await shop.createInventoryService({
        auth,
        ...(stock === undefined ? {} : { items: shop.seedItems.map((item) => ({ ...item, stock })) }),
      });
    } else {
      app = await shop.createPaymentsService({ auth });
    }
    stops.push(() => app.close());
    // A `tessera compare` run asks its services what they served over the IPC channel.
    const { attachProbe } = await import('@tessera/compare/probe');
    attachProbe(app);
    const started = app;
    const signal = await announceThenWaitForSignal(async () => {
      const address = await started.listen({ host: '127.0.0.1', port: options.port });
      io.out(`tessera shop-service: ${service} (${options.mode} mode), listening on ${address}\n`);
    });
    io.out(`tessera shop-service: ${signal}, stopping\n`);
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

export function registerShopServiceCommand(program: Command, context: CliContext): void {
  program
    .command('shop-service <name>', { hidden: true })
    .description(
      `run one demo shop service (orders, inventory or payments) as a process of its own, as \`tessera compare\` does (${REFERENCE_KEYS_VARIABLES} in session mode, ${CLIENT_SECRET_VARIABLE} for orders)`,
    )
    .addOption(new Option('--mode <mode>', 'token or session').choices(['token', 'session']).default('token'))
    .option('--port <port>', 'port to listen on, on 127.0.0.1', integer('--port', 0, 65535), 0)
    .option('--issuer <url>', 'the token service, exactly as in `iss`')
    .option('--redis <url>', 'Redis: the session store (session mode) and revocation events (token mode)')
    .option('--inventory-url <url>', 'where orders reaches inventory')
    .option('--payments-url <url>', 'where orders reaches payments')
    .option(
      '--stock <n>',
      'inventory: every item starts with this stock (a load run must not sell out)',
      integer('--stock', 0, 1_000_000_000),
    )
    .option('--no-cache', 'token mode: no verified-token cache')
    .option('--no-revocation-events', 'token mode: do not subscribe to pushed revocation events')
    .option(
      '--dpop',
      "token mode: DPoP-bound tokens only, proof ids on --redis (orders binds what it exchanges to a key of its own), as `tessera dev --dpop`'s services",
    )
    // Traced as `name` (service.name) when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    .action((name: string, options: ShopServiceOptions) =>
      withTracing(context.env, name, () => run(name, options, context)),
    );
}
