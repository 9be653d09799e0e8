import {
  checkReadiness,
  type MetricsExposure,
  type MetricsListener,
  metricsAllowed,
  metricsOnPublicPort,
  metricsRefusal,
  type ReadinessCheck,
  readinessBody,
  sendAnswer,
  startMetricsListener,
} from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './metrics.js';

export interface HealthOptions {
  /** What the routes need, by name: the session store, the user directory, the signing keys. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly metrics: GatewayMetrics;
  readonly exposure: MetricsExposure | undefined;
}

/**
 * `/healthz` (liveness: 200 while the process serves), `/readyz` (200 when every dependency of
 * the configured routes answers within the probe deadline, else 503 naming the one that did not)
 * and `/metrics` where `metrics` says: a listener of its own (opened when the app is ready, closed
 * with it), the public port behind a bearer token, the public port to anyone, or (unset) nowhere.
 */
export function registerHealth(app: FastifyInstance, options: HealthOptions): void {
  const { readiness, metrics, exposure } = options;
  app.get('/healthz', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  );
  app.get('/readyz', async (request, reply) => {
    const report = await checkReadiness(readiness, {
      // The code only: a driver's message may name a host or a connection string.
      onFailure: (dependency, state, error) =>
        request.log.warn(
          { dependency, state, code: (error as { code?: unknown } | undefined)?.code },
          'readiness check failed',
        ),
    });
    return reply
      .code(report.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(readinessBody(report));
  });

  if (exposure !== undefined && 'listen' in exposure) {
    let listener: MetricsListener | undefined;
    app.addHook('onReady', async () => {
      listener = await startMetricsListener(exposure.listen, metrics.registry);
    });
    app.addHook('onClose', async () => {
      await listener?.close();
    });
    return;
  }
  if (exposure === undefined || !metricsOnPublicPort(exposure)) return;
  app.get('/metrics', async (request, reply) => {
    if (!metricsAllowed(exposure, request.headers.authorization)) return sendAnswer(reply, metricsRefusal());
    return reply
      .header('content-type', metrics.registry.contentType)
      .header('cache-control', 'no-store')
      .send(await metrics.registry.metrics());
  });
}
