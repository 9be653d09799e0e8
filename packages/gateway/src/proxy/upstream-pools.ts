import { Pool } from 'undici';
import type { GatewayConfig } from '../config.js';
import type { GatewayOptions } from '../options.js';

/**
 * One undici keep-alive pool per upstream origin, made at start for the routes' origins and
 * closed with the app. A request goes to its route's pool directly: no agent in between looking
 * the origin up per request. With `tls` (mutual TLS to `https://` upstreams) every connection
 * presents the gateway's certificate and trusts only `tls.ca`.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  constructor(
    origins: Iterable<string>,
    upstreams: GatewayConfig['upstreams'],
    tls?: GatewayOptions['upstreamTls'],
  ) {
    for (const origin of origins) {
      if (this.#pools.has(origin)) continue;
      this.#pools.set(
        origin,
        new Pool(origin, {
          connections: upstreams.connections,
          // One request at a time per connection: a slow answer never holds up the next request.
          pipelining: 1,
          keepAliveTimeout: upstreams.keepAliveTimeoutMs,
          headersTimeout: upstreams.timeoutMs,
          bodyTimeout: upstreams.timeoutMs,
          connect: { timeout: upstreams.connectTimeoutMs, ...tls },
        }),
      );
    }
  }

  /** The pool of a route's origin (every route's origin has one). */
  of(origin: string): Pool {
    const pool = this.#pools.get(origin);
    if (pool === undefined) throw new Error(`no upstream pool for ${origin}`);
    return pool;
  }

  /** Closes every connection at once: requests still in flight fail (the listener is closed first). */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.destroy()));
  }
}
