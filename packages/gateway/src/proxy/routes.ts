import type { RouteConfig } from '../config.js';

/** A route ready for matching: its prefix and where the remainder of the path goes. */
export interface CompiledRoute {
  readonly config: RouteConfig;
  readonly prefix: string;
  /** The upstream's origin and base path (without a trailing slash). */
  readonly origin: string;
  /** The `Host` the upstream is sent (its origin's host and port). */
  readonly host: string;
  readonly basePath: string;
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  /** The path and query to request from the upstream's origin. */
  readonly upstreamPath: string;
}

function compile(config: RouteConfig): CompiledRoute {
  const url = new URL(config.upstream);
  return {
    config,
    prefix: config.prefix,
    origin: url.origin,
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

/**
 * Longest-prefix routing on whole path segments: `/api/orders` takes `/api/orders` and
 * `/api/orders/7` but not `/api/ordersx`. Routes are tried longest first, so the most specific wins.
 */
export class RouteTable {
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly RouteConfig[]) {
    this.#routes = routes.map(compile).sort((a, b) => b.prefix.length - a.prefix.length);
  }

  get routes(): readonly CompiledRoute[] {
    return this.#routes;
  }

  /** The route for a request target (`/path?query`), or undefined. */
  match(target: string): RouteMatch | undefined {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q);
    for (const route of this.#routes) {
      const { prefix } = route;
      const fits =
        prefix === '/' ||
        path === prefix ||
        (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47);
      if (!fits) continue;
      let rest = route.config.stripPrefix && prefix !== '/' ? path.slice(prefix.length) : path;
      if (!rest.startsWith('/')) rest = `/${rest}`;
      const joined =
        route.basePath === '' ? rest : rest === '/' ? route.basePath : `${route.basePath}${rest}`;
      return { route, upstreamPath: `${joined}${query}` };
    }
    return undefined;
  }
}
