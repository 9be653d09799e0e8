import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The gateway's metrics, on a Registry of its own (several gateways in one process stay apart). */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'mode' | 'status'>;
  readonly upstreamSeconds: Histogram<'route' | 'status'>;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_gateway_' });
  const requests = new Counter({
    name: 'tessera_gateway_requests_total',
    help: 'Requests answered, by route prefix, auth mode and status',
    labelNames: ['route', 'mode', 'status'] as const,
    registers: [registry],
  });
  const upstreamSeconds = new Histogram({
    name: 'tessera_gateway_upstream_duration_seconds',
    help: 'Time from sending a request upstream to its response headers, by route prefix',
    labelNames: ['route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, requests, upstreamSeconds };
}
