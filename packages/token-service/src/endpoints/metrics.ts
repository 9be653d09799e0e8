import { serveMetricsEndpoint } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { OAuthError } from '../lib/oauth-error.js';

/**
 * `/metrics` in the Prometheus text format (tokens issued by grant, errors by code, latency), where
 * the `metrics` option says: a listener of its own (opened when the app is ready, closed with it),
 * the public port behind a bearer token, the public port to anyone, or (unset) nowhere; core's
 * `serveMetricsEndpoint`. Without the bearer token: 401 `invalid_token`, answered as every OAuth
 * error of the service is.
 */
export function registerMetrics(app: FastifyInstance, ctx: ServiceContext): void {
  serveMetricsEndpoint(app, {
    exposure: ctx.options.metrics,
    registry: ctx.metrics.registry,
    unauthorized: () => {
      throw new OAuthError('invalid_token', 'the metrics need their bearer token', {
        wwwAuthenticate: 'Bearer realm="metrics"',
      });
    },
  });
}
