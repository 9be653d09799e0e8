// The gateway counts per route in cells of its own and hands prom-client the totals at scrape:
// what /metrics shows must be what prom-client's own counter and histogram show for the same
// requests, line for line.
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/observability/metrics.js';

/** The gateway's series only (not the process metrics), HELP/TYPE lines included. */
function ours(text: string): string {
  return text
    .split('\n\n')
    .filter((block) => /tessera_gateway_(requests_total|upstream_duration_seconds)/.test(block))
    .sort()
    .join('\n\n');
}

const requestSchema = fc.record({
  route: fc.constantFrom('/api', '/orders', '/'),
  mode: fc.constantFrom('public', 'token'),
  status: fc.constantFrom(200, 204, 404, 502),
  seconds: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(0.001, 0.5, 10)),
});

type Request = { route: string; mode: string; status: number; seconds: number };

function reference(requests: readonly Request[]): Registry {
  const registry = new Registry();
  const counter = new Counter({
    name: 'tessera_gateway_requests_total',
    help: 'Requests answered, by route prefix, auth mode and status',
    labelNames: ['route', 'mode', 'status'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'tessera_gateway_upstream_duration_seconds',
    help: 'Time from sending a request upstream to its response headers, by route prefix',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  for (const { route, mode, status, seconds } of requests) {
    counter.inc({ route, mode, status: String(status) });
    histogram.observe({ route, status: String(status) }, seconds);
  }
  return registry;
}

describe('the gateway metrics', () => {
  it('expose what prom-client would for the same requests, across scrapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestSchema, { maxLength: 40 }), fc.nat(40), async (requests, cut) => {
        const metrics = createMetrics();
        // A route's meter is made once; the same one is found again.
        const meterOf = (route: string, mode: string) => metrics.meter(route, mode);
        const count = (from: number, to: number) => {
          for (const { route, mode, status, seconds } of requests.slice(from, to)) {
            meterOf(route, mode).answered(status);
            meterOf(route, mode).upstream(status, seconds);
          }
        };
        count(0, cut);
        expect(ours(await metrics.registry.metrics())).toBe(
          ours(await reference(requests.slice(0, cut)).metrics()),
        );
        count(cut, requests.length);
        expect(ours(await metrics.registry.metrics())).toBe(ours(await reference(requests).metrics()));
        // As JSON too (the reference's fields left undefined are absent from a JSON text as well).
        const json = async (registry: Registry) =>
          JSON.parse(JSON.stringify(await registry.getMetricsAsJSON()));
        expect(await json(metrics.registry)).toEqual(expect.arrayContaining(await json(reference(requests))));
      }),
      { numRuns: 50 },
    );
  });

  it('hand out one meter per route and mode', () => {
    const metrics = createMetrics();
    expect(metrics.meter('/api', 'token')).toBe(metrics.meter('/api', 'token'));
    expect(metrics.meter('/api', 'token')).not.toBe(metrics.meter('/api', 'public'));
  });
});
