import { metricsRefusal, serveMetricsEndpoint } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';

/**
 * `/metrics` in the Prometheus text format (tokens issued by grant, errors by code, latency), where
 * the `metrics` option says: a listener of its own (opened when the app is ready, closed with it),
 * the public port behind a bearer token, the public port to anyone, or (unset) nowhere; core's
 * `serveMetricsEndpoint`. Without the bearer token: core's 401 `ERR_METRICS_UNAUTHORIZED`, as every
 * part answers it (a resource behind a bearer token, RFC 6750, not an OAuth endpoint).
 */
export function registerMetrics(app: FastifyInstance, ctx: ServiceContext): void {
  serveMetricsEndpoint(app, {
    exposure: ctx.options.metrics,
    registry: ctx.metrics.registry,
    unauthorized: metricsRefusal,
  });
}
