import {
  type MetricsListener,
  metricsAllowed,
  metricsOnPublicPort,
  metricsRefusal,
  sendAnswer,
  startMetricsListener,
} from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';

/**
 * `/metrics` in the Prometheus text format (tokens issued by grant, errors by code, latency), where
 * the `metrics` option says: a listener of its own (opened when the app is ready, closed with it),
 * the public port behind a bearer token, the public port to anyone, or (unset) nowhere.
 */
export function registerMetrics(app: FastifyInstance, ctx: ServiceContext): void {
  const exposure = ctx.options.metrics;
  const { registry } = ctx.metrics;
  if (exposure !== undefined && 'listen' in exposure) {
    let listener: MetricsListener | undefined;
    app.addHook('onReady', async () => {
      listener = await startMetricsListener(exposure.listen, registry);
    });
    app.addHook('onClose', async () => {
      await listener?.close();
    });
    return;
  }
  if (exposure === undefined || !metricsOnPublicPort(exposure)) return;
  app.get('/metrics', async (request, reply) => {
    // A resource behind a bearer token (RFC 6750), not an OAuth endpoint: answered as every part answers it.
    if (!metricsAllowed(exposure, request.headers.authorization)) return sendAnswer(reply, metricsRefusal());
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
