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

/** One path segment's node: the route whose prefix ends here, and the segments that go deeper. */
interface SegmentNode {
  route: CompiledRoute | undefined;
  readonly children: Map<string, SegmentNode>;
}

function newNode(): SegmentNode {
  return { route: undefined, children: new Map() };
}

/**
 * Longest-prefix routing on whole path segments: `/api/orders` takes `/api/orders` and
 * `/api/orders/7` but not `/api/ordersx`; the most specific prefix wins. The prefixes are a tree
 * of their segments, so a request walks as many map lookups as its path has segments, however many
 * routes there are (a list tried longest first cost one comparison per route: at 1,000 routes the
 * gateway spent its time there). The config refuses trailing slashes and empty, `.` and `..`
 * segments in a prefix, so a prefix's segments are exactly its text between slashes.
 */
export class RouteTable {
  readonly #routes: readonly CompiledRoute[];
  readonly #root = newNode();

  constructor(routes: readonly RouteConfig[]) {
    this.#routes = routes.map(compile).sort((a, b) => b.prefix.length - a.prefix.length);
    for (const route of this.#routes) {
      let node = this.#root;
      if (route.prefix !== '/') {
        for (const segment of route.prefix.slice(1).split('/')) {
          let child = node.children.get(segment);
          if (child === undefined) {
            child = newNode();
            node.children.set(segment, child);
          }
          node = child;
        }
      }
      // Duplicate prefixes are refused by the config; the first (as sorted) would win as before.
      node.route ??= route;
    }
  }

  get routes(): readonly CompiledRoute[] {
    return this.#routes;
  }

  /** The route for a request target (`/path?query`), or undefined. */
  match(target: string): RouteMatch | undefined {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q);
    const route = this.#longest(path);
    if (route === undefined) return undefined;
    const { prefix } = route;
    let rest = route.config.stripPrefix && prefix !== '/' ? path.slice(prefix.length) : path;
    if (!rest.startsWith('/')) rest = `/${rest}`;
    const joined = route.basePath === '' ? rest : rest === '/' ? route.basePath : `${route.basePath}${rest}`;
    return { route, upstreamPath: `${joined}${query}` };
  }

  /** The route of the longest prefix that is the path or ends where one of its segments ends. */
  #longest(path: string): CompiledRoute | undefined {
    let node = this.#root;
    let best = node.route;
    // A target that is not origin-form (`*`, an absolute URL) is matched by `/` alone.
    if (path.charCodeAt(0) !== 47) return best;
    let start = 1;
    for (;;) {
      const slash = path.indexOf('/', start);
      const child = node.children.get(slash < 0 ? path.slice(start) : path.slice(start, slash));
      if (child === undefined) return best;
      node = child;
      if (node.route !== undefined) best = node.route;
      if (slash < 0) return best;
      start = slash + 1;
    }
  }
}
