import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';

/** `/metrics` in the Prometheus text format: tokens issued by grant, errors by code, latency. */
export function registerMetrics(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/metrics', async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
