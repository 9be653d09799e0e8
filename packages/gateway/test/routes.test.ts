// The route table walks a tree of prefix segments. These tests hold it to the rules the gateway
// has always routed by, written out here as the plain list they were: tried longest prefix first,
// a prefix fitting when it is `/`, the whole path, or the path up to a `/`.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig, type RouteConfig } from '../src/config.js';
import { RouteTable } from '../src/proxy/routes.js';

function routesOf(prefixes: readonly string[], stripPrefix = false): readonly RouteConfig[] {
  return parseGatewayConfig({
    routes: prefixes.map((prefix, i) => ({
      prefix,
      upstream: `http://upstream-${i}:1/base`,
      auth: 'public',
      stripPrefix,
    })),
  }).routes;
}

/** The longest fitting prefix by the list rule, or undefined. */
function longestByList(prefixes: readonly string[], path: string): string | undefined {
  return [...prefixes]
    .sort((a, b) => b.length - a.length)
    .find(
      (prefix) =>
        prefix === '/' ||
        path === prefix ||
        (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47),
    );
}

const segment = fc.constantFrom('a', 'b', 'api', 'orders', 'v1', 'x', 'a.b', ':id');
const prefixArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const pathArb = fc.oneof(
  fc
    .array(fc.oneof(segment, fc.constant(''), fc.constant('ordersx')), { minLength: 0, maxLength: 6 })
    .map((s) => `/${s.join('/')}`),
  fc.constantFrom('*', 'http://host/api', '', '//', '/a//b'),
);

describe('route table', () => {
  it('picks the same route as the longest-first list for any prefixes and path', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(prefixArb, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(pathArb, { minLength: 1, maxLength: 8 }),
        fc.constantFrom('', '?q=1', '?a=/b'),
        (prefixes, withRoot, strip, paths, query) => {
          const all = withRoot ? ['/', ...prefixes] : prefixes;
          const table = new RouteTable(routesOf(all, strip));
          for (const path of paths) {
            const expected = longestByList(all, path);
            const match = table.match(`${path}${query}`);
            expect(match?.route.prefix).toBe(expected);
            if (match === undefined || expected === undefined) continue;
            let rest = strip && expected !== '/' ? path.slice(expected.length) : path;
            if (!rest.startsWith('/')) rest = `/${rest}`;
            expect(match.upstreamPath).toBe(`${rest === '/' ? '/base' : `/base${rest}`}${query}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds the deepest of 1,000 routes on whole segments', () => {
    const prefixes = Array.from({ length: 1000 }, (_, i) => `/svc-${i % 100}/v${Math.floor(i / 100)}`);
    const table = new RouteTable(routesOf(['/svc-7', ...prefixes]));
    expect(table.match('/svc-7/v3/items/9')?.route.prefix).toBe('/svc-7/v3');
    expect(table.match('/svc-7/v3x/items')?.route.prefix).toBe('/svc-7');
    expect(table.match('/svc-7')?.route.prefix).toBe('/svc-7');
    expect(table.match('/svc-70/v9/')?.route.prefix).toBe('/svc-70/v9');
    expect(table.match('/svc-100/v0')).toBeUndefined();
    expect(table.routes).toHaveLength(1001);
  });
});
