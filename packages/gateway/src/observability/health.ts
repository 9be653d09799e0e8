import {
  type MetricsExposure,
  type ReadinessCheck,
  serveHealthEndpoints,
  serveMetricsEndpoint,
} from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { answerOf } from '../answer.js';
import { GatewayError } from '../errors.js';
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
 * and `/metrics` where `metrics` says (a listener of its own, the public port behind a bearer
 * token, the public port to anyone, or nowhere): core's endpoints, with the gateway's
 * `metrics_unauthorized` answer.
 */
export function registerHealth(app: FastifyInstance, options: HealthOptions): void {
  serveHealthEndpoints(app, options.readiness);
  serveMetricsEndpoint(app, {
    exposure: options.exposure,
    registry: options.metrics.registry,
    unauthorized: () => answerOf(new GatewayError('metrics_unauthorized')),
  });
}
