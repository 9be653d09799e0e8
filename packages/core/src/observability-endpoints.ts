import {
  type MetricsExposure,
  type MetricsListener,
  type MetricsText,
  metricsAllowed,
  metricsOnPublicPort,
  startMetricsListener,
} from './metrics-exposure.js';
import { checkReadiness, type ReadinessCheck, readinessBody } from './readiness.js';

// `/healthz`, `/readyz` and `/metrics`, written once for every HTTP part (the token service, the
// gateway, each service). Core depends on no web framework: the app is described by the little of
// Fastify's shape these routes use, which a FastifyInstance satisfies as it is.

/** An answer as data: status, headers, and a body (an object is sent as JSON). */
export interface EndpointAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** What the observability routes read of a request. */
export interface ObservabilityRequest {
  readonly headers: { readonly authorization?: string | undefined };
  readonly log: { warn(fields: object, message: string): void };
}

/** What the observability routes do with a reply. */
export interface ObservabilityReply {
  code(status: number): ObservabilityReply;
  headers(values: Readonly<Record<string, string>>): ObservabilityReply;
  send(body: unknown): ObservabilityReply;
}

/** The app the routes are added to: a Fastify instance, or anything of the same shape. */
export interface ObservabilityApp {
  get(
    path: string,
    options: { readonly config: { readonly auth: false } },
    handler: (request: ObservabilityRequest, reply: ObservabilityReply) => Promise<unknown>,
  ): unknown;
  addHook(name: 'onReady', hook: () => Promise<void>): unknown;
  addHook(name: 'onClose', hook: () => Promise<void>): unknown;
}

/** Where a part's metrics are served and what they are. */
export interface MetricsEndpoint {
  /** Unset: nowhere (the public port answers 404). */
  readonly exposure: MetricsExposure | undefined;
  readonly registry: MetricsText;
  /**
   * The part's own answer to a `/metrics` request on the public port without the right bearer
   * token: its error shape, status 401 (`WWW-Authenticate: Bearer realm="metrics"` is added). A
   * part whose error handler answers its errors may throw one instead, challenge included.
   */
  readonly unauthorized: () => EndpointAnswer;
}

const noStore = { 'cache-control': 'no-store' } as const;

/** `/healthz`: liveness, 200 while the process serves, whatever its dependencies do. */
export function livenessAnswer(): EndpointAnswer {
  return { status: 200, headers: noStore, body: { status: 'ok' } };
}

/**
 * `/readyz`: 200 when every named dependency answers within the probe deadline, else 503 naming
 * the one that did not. A failed probe's code (never its message: a driver's may name a host or a
 * connection string) goes to `log` at `warn`.
 */
export async function readinessAnswer(
  checks: Readonly<Record<string, ReadinessCheck>>,
  log: ObservabilityRequest['log'],
): Promise<EndpointAnswer> {
  const report = await checkReadiness(checks, {
    onFailure: (dependency, state, error) =>
      log.warn(
        { dependency, state, code: (error as { code?: unknown } | undefined)?.code },
        'readiness check failed',
      ),
  });
  return { status: report.ready ? 200 : 503, headers: noStore, body: readinessBody(report) };
}

/** `GET /metrics` on the public port: the registry's text, or the part's refusal without the bearer token. */
export async function metricsAnswer(
  metrics: MetricsEndpoint,
  authorization: string | undefined,
): Promise<EndpointAnswer> {
  const { exposure, registry } = metrics;
  if (exposure === undefined || !metricsOnPublicPort(exposure) || !metricsAllowed(exposure, authorization)) {
    const refusal = metrics.unauthorized();
    return { ...refusal, headers: { ...refusal.headers, 'www-authenticate': 'Bearer realm="metrics"' } };
  }
  return {
    status: 200,
    headers: { 'content-type': registry.contentType, ...noStore },
    body: await registry.metrics(),
  };
}

const publicRoute = { config: { auth: false } } as const;

function send(reply: ObservabilityReply, answer: EndpointAnswer): ObservabilityReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/** Adds `/healthz` and `/readyz` (public routes) over the part's named readiness probes. */
export function serveHealthEndpoints(
  app: ObservabilityApp,
  readiness: Readonly<Record<string, ReadinessCheck>>,
): void {
  app.get('/healthz', publicRoute, async (_request, reply) => send(reply, livenessAnswer()));
  app.get('/readyz', publicRoute, async (request, reply) =>
    send(reply, await readinessAnswer(readiness, request.log)),
  );
}

/**
 * Serves `/metrics` where the exposure says: a listener of its own (opened when the app is ready,
 * closed with it), the public port behind a bearer token, the public port to anyone, or (unset)
 * nowhere.
 */
export function serveMetricsEndpoint(app: ObservabilityApp, metrics: MetricsEndpoint): void {
  const { exposure, registry } = metrics;
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
  if (!metricsOnPublicPort(exposure)) return;
  app.get('/metrics', publicRoute, async (request, reply) =>
    send(reply, await metricsAnswer(metrics, request.headers.authorization)),
  );
}
