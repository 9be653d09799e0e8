import {
  type MetricsEndpoint,
  type MetricsExposure,
  metricsExposureSchema,
  TesseraTypeError,
} from '@tessera/core';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { resourceErrorCodes } from '../errors.js';

/**
 * A service's own metrics, on a Registry of its own (several services in one process stay apart):
 * requests and their latency by route template, method and status, and refused credentials by
 * their error code. Made only when the service exposes `/metrics`: otherwise nothing is counted.
 */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly exposure: MetricsExposure;
  /** One answered request: `route` is the route template (`/orders/:id`), never the raw path. */
  observe(method: string, route: string, status: number, seconds: number): void;
  /** A credential refused (4xx) or not checkable (5xx), by its stable code. */
  verifyFailed(code: string): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Checks a `metrics` option against core's one schema (a short bearer token, an unknown key: refused). */
export function checkMetricsExposure(value: unknown): MetricsExposure {
  const parsed = metricsExposureSchema.safeParse(value);
  if (!parsed.success) {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      `metrics: ${parsed.error.issues[0]?.message ?? 'invalid'} (listen: { host, port }, bearerToken or public: true)`,
    );
  }
  return parsed.data as MetricsExposure;
}

export function createServiceMetrics(exposure: MetricsExposure): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_service_' });
  const requests = new Counter({
    name: 'tessera_service_requests_total',
    help: 'Requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'tessera_service_request_duration_seconds',
    help: 'Time from a request to its answer, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'tessera_service_verify_failures_total',
    help: 'Credentials refused or not checkable, by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  return {
    registry,
    exposure,
    observe(method, route, status, elapsed) {
      const labels = { route, method, status: String(status) };
      requests.inc(labels);
      seconds.observe(labels, elapsed);
    },
    verifyFailed(code) {
      failures.inc({ code });
    },
  };
}

/**
 * What core's `/metrics` endpoint serves for a service (`serveMetricsEndpoint`, `metricsAnswer`):
 * its registry where its exposure says, and without the bearer token 401
 * `ERR_METRICS_UNAUTHORIZED` in resource's error shape.
 */
export function metricsEndpoint(metrics: ServiceMetrics): MetricsEndpoint {
  const code = 'ERR_METRICS_UNAUTHORIZED';
  return {
    exposure: metrics.exposure,
    registry: metrics.registry,
    unauthorized: () => ({
      status: 401,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: JSON.stringify({ error_description: resourceErrorCodes[code], code }),
    }),
  };
}
