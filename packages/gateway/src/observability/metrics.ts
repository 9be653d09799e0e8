import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { CellHistogram, type HistogramCell } from './route-histogram.js';

/**
 * What one route (or one of the gateway's own Fastify routes) counts, bound once: a request
 * finds its label sets by status in a small map instead of handing prom-client a new label object
 * to validate and hash (about 2.7 us a request for the counter and the histogram together).
 */
export interface RouteMeter {
  /** One request answered with `status` (`tessera_gateway_requests_total`). */
  answered(status: number): void;
  /** An upstream's response headers, `seconds` after the request went (`..._upstream_duration_seconds`). */
  upstream(status: number, seconds: number): void;
}

/** The gateway's metrics, on a Registry of its own (several gateways in one process stay apart). */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** The meter of a route prefix and mode: made on first use, the same one after. */
  meter(route: string, mode: string): RouteMeter;
}

/** A label set's requests not yet handed to prom-client (at the next scrape). */
interface CountCell {
  readonly labels: Readonly<Record<'route' | 'mode' | 'status', string>>;
  pending: number;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_gateway_' });
  const counts: CountCell[] = [];
  new Counter({
    name: 'tessera_gateway_requests_total',
    help: 'Requests answered, by route prefix, auth mode and status',
    labelNames: ['route', 'mode', 'status'] as const,
    registers: [registry],
    // Counted in plain numbers per request; prom-client's label hashing runs once per label set a scrape.
    collect() {
      for (const cell of counts) {
        if (cell.pending === 0) continue;
        this.inc(cell.labels, cell.pending);
        cell.pending = 0;
      }
    },
  });
  const upstreamSeconds = new CellHistogram({
    name: 'tessera_gateway_upstream_duration_seconds',
    help: 'Time from sending a request upstream to its response headers, by route prefix',
    labelNames: ['route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // One histogram series per route and status, whatever mode a meter of that route counts.
  const upstreamCells = new Map<string, Map<number, HistogramCell>>();
  const meters = new Map<string, Map<string, RouteMeter>>();

  function newMeter(route: string, mode: string): RouteMeter {
    const answered = new Map<number, CountCell>();
    let upstream = upstreamCells.get(route);
    if (upstream === undefined) {
      upstream = new Map();
      upstreamCells.set(route, upstream);
    }
    const byStatus = upstream;
    return {
      answered(status) {
        let cell = answered.get(status);
        if (cell === undefined) {
          cell = { labels: { route, mode, status: String(status) }, pending: 0 };
          answered.set(status, cell);
          counts.push(cell);
        }
        cell.pending += 1;
      },
      upstream(status, seconds) {
        let cell = byStatus.get(status);
        if (cell === undefined) {
          cell = upstreamSeconds.cell({ route, status: String(status) });
          byStatus.set(status, cell);
        }
        upstreamSeconds.observeIn(cell, seconds);
      },
    };
  }

  return {
    registry,
    meter(route, mode) {
      let byMode = meters.get(route);
      if (byMode === undefined) {
        byMode = new Map();
        meters.set(route, byMode);
      }
      let meter = byMode.get(mode);
      if (meter === undefined) {
        meter = newMeter(route, mode);
        byMode.set(mode, meter);
      }
      return meter;
    },
  };
}
