import { TesseraTypeError } from '@tessera/core';
import type { Environment } from '@tessera/core/config';

/** A registered OpenTelemetry SDK: `shutdown` exports what is still buffered. */
export interface Tracing {
  readonly serviceName: string;
  shutdown(): Promise<void>;
}

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

/** Where spans go, by the standard variables: the traces endpoint as given, else `<endpoint>/v1/traces`. */
export function tracesUrl(env: Environment): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const raw = traces !== undefined && traces !== '' ? traces : base;
  if (raw === undefined || raw === '') return undefined;
  const variable = raw === traces ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw misuse(`${variable} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw misuse(`${variable} must be http:// or https://`);
  if (raw === traces) return url.href;
  return `${url.href.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Registers the OpenTelemetry SDK for this process when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED` is not `true`: spans are
 * batched and sent as OTLP/HTTP JSON, `service.name` is `OTEL_SERVICE_NAME` or the part's own
 * name, and the W3C trace-context propagator carries `traceparent`. Unset: nothing is loaded and
 * every span of the libraries stays the API's no-op. The SDK itself reads the other standard
 * variables (OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES).
 */
export async function startTracing(
  env: Environment,
  defaultServiceName: string,
): Promise<Tracing | undefined> {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return undefined;
  const url = tracesUrl(env);
  if (url === undefined) return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/json';
  if (protocol !== 'http/json') {
    throw misuse(
      `OTEL_EXPORTER_OTLP_PROTOCOL ${protocol} is not supported: tessera exports OTLP/HTTP as http/json`,
    );
  }
  const serviceName =
    env.OTEL_SERVICE_NAME !== undefined && env.OTEL_SERVICE_NAME !== ''
      ? env.OTEL_SERVICE_NAME
      : defaultServiceName;
  // Loaded only when tracing is on: a process without it pays nothing for the SDK.
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  // The AsyncLocalStorage context manager and the W3C trace-context (and baggage) propagator.
  provider.register();
  return {
    serviceName,
    async shutdown() {
      // A collector that is down must not keep the process from exiting.
      await Promise.race([
        provider.shutdown().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
      ]);
    },
  };
}

/** Runs `work` with tracing started for `serviceName` (when configured) and flushed after it. */
export async function withTracing<T>(
  env: Environment,
  serviceName: string,
  work: () => Promise<T>,
): Promise<T> {
  const tracing = await startTracing(env, serviceName);
  try {
    return await work();
  } finally {
    await tracing?.shutdown();
  }
}
