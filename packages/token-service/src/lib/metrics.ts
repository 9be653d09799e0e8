import { Counter, Histogram, Registry } from 'prom-client';

/** The service's Prometheus metrics, on a registry of its own (two apps in one process do not clash). */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly tokensIssued: Counter<'grant_type'>;
  readonly errors: Counter<'code' | 'error'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly backchannelLogouts: Counter<'result'>;
}

export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  return Object.freeze({
    registry,
    tokensIssued: new Counter({
      name: 'tessera_tokens_issued_total',
      help: 'Access tokens issued, by grant type.',
      labelNames: ['grant_type'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'tessera_oauth_errors_total',
      help: 'Error answers, by our code and by the RFC 6749 5.2 error it went out as.',
      labelNames: ['code', 'error'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'Request latency, by method, route and status.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    backchannelLogouts: new Counter({
      name: 'tessera_backchannel_logout_total',
      help: 'Back-channel Logout Tokens sent to clients, by result (ok: a 2xx answer; failed).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  });
}

/**
 * Counts one error answered: by our `code` (the one convention every part's metrics and logs use,
 * `ERR_OAUTH_INVALID_CLIENT`, `ERR_HTTP_NOT_FOUND`) and by the RFC 6749 5.2 `error` the client
 * read (`invalid_client`, `invalid_request`), which several codes share.
 */
export function countError(metrics: ServiceMetrics, code: string, error: string): void {
  metrics.errors.inc({ code, error });
}
