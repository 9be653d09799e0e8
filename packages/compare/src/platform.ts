import type { PublicClient, User } from './credentials.js';

/** Where each part is reached: `http://127.0.0.1:<port>` (the Redis port for the store). */
export interface SystemPorts {
  readonly tokenService: number;
  readonly gateway: number;
  readonly orders: number;
  readonly inventory: number;
  readonly payments: number;
}

/** What the configuration of one mode's system is made from. */
export interface PrepareRequest {
  /** The dev system's mode the configuration is written for. */
  readonly devMode: 'token' | 'session' | 'hybrid';
  readonly dir: string;
  /** The token service's secret for this run; every other secret is derived from it. */
  readonly secret: string;
  readonly redisUrl: string;
  readonly ports: SystemPorts;
  /** Whether the gateway hears pushed revocation events (token modes), as the services do. */
  readonly revocationEvents: boolean;
  readonly sessionsInMemory: boolean;
  /** The gateway's verified-token cache entries; 0 turns it off. */
  readonly tokenCacheSize?: number;
  /**
   * DPoP-bound tokens at every hop (token-dpop, `tessera dev --dpop`'s configuration): the seed's
   * clients bind and exchange, the gateway's token routes check proofs and exchange. Default false.
   */
  readonly dpop?: boolean;
  /** A user's own routes (`--config`) instead of the shop's. */
  readonly routes?: readonly UserRoute[];
}

/** One route of a user's gateway config, as its loader read it: `auth` decides the modes it runs in. */
export interface UserRoute {
  readonly prefix: string;
  readonly upstream: string;
  readonly auth: string;
  readonly [field: string]: unknown;
}

/** The files and environment the parts are started from. */
export interface PreparedSystem {
  readonly gatewayConfig: string;
  readonly seed: string;
  readonly databaseUrl: string;
  readonly issuer: string;
  /** The environment of a `tessera gateway` process (its secrets). */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  /** The environment of the `tessera shop-service` process of one service (its own secrets). */
  readonly serviceEnv: (service: string) => Readonly<Record<string, string>>;
}

/**
 * What the command line gives a run: how to start `tessera`, and the development system's one
 * way of writing its configuration, so `tessera dev` and `tessera compare` make it alike.
 */
export interface ComparePlatform {
  /** `tessera` as a process: the Node binary and the CLI script before the command's arguments. */
  readonly tessera: { readonly command: string; readonly args: readonly string[] };
  readonly version: string;
  /**
   * Runs a short `tessera` command (an operator's `keys rotate`) in this process, resolving once
   * it succeeded and rejecting with its one-line error: the same command without a Node start-up
   * per call. Without it the command runs as a process.
   */
  readonly runCommand?: (args: readonly string[], env: Readonly<Record<string, string>>) => Promise<void>;
  prepare(request: PrepareRequest): Promise<PreparedSystem>;
  /** The users the seed creates. */
  readonly users: readonly User[];
  /** The seeded public client for signing in as a command-line tool does (token modes). */
  readonly publicClient: PublicClient;
}
