import type { IncomingHttpHeaders } from 'node:http';
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ProxyTracerProvider,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';

/**
 * Tracing through `@opentelemetry/api` only. With no SDK registered (any embedding service that
 * does not register one) every span is the API's non-recording span and nothing is propagated:
 * the cost is one span object per call. `tessera` registers the SDK when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Attributes name routes, audiences, grant types and
 * error codes, never a token, cookie or header value.
 */
export const tracer = trace.getTracer('tessera');

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key],
};

// The context of each request being served, by its Node request object.
const requestContexts = new WeakMap<object, { readonly span: Span; readonly context: Context }>();

function traced(span: Span): boolean {
  return span.isRecording() || isSpanContextValid(span.spanContext());
}

/**
 * Whether an SDK's tracer provider is registered, asked on each call (`tessera` may register one
 * after this module loaded). Without one the API's tracer never reads a span's name or attributes, so a hot
 * path can skip building them (a request's route name and attributes object, Fastify's
 * `routeOptions` object behind them).
 */
function sdkRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('tessera') !== undefined;
}

// What the API's no-op tracer starts a span as: the parent's own span context, or nothing to trace.
const untraced = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
function noopSpanOf(parent: SpanContext | undefined): Span {
  return parent !== undefined && isSpanContextValid(parent) ? trace.wrapSpanContext(parent) : untraced;
}

/**
 * Starts the server span of an incoming request (continuing the trace of its `traceparent`, or a
 * new one) and runs `next` in its context (Fastify runs the rest of the request's hooks and its
 * handler from `next`, so their async work stays in it). `key` is the request's own object
 * (Fastify's `request.raw`): `endRequestTrace` finds the span by it.
 */
export function startRequestTrace(
  key: object,
  name: string,
  headers: IncomingHttpHeaders,
  attributes: Attributes,
  next: () => void,
): void {
  const parent = propagation.extract(context.active(), headers, headerGetter);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  if (!traced(span)) {
    next();
    return;
  }
  const active = trace.setSpan(parent, span);
  requestContexts.set(key, { span, context: active });
  context.with(active, next);
}

/** Ends the request's server span with the status it was answered with (5xx marks an error). */
export function endRequestTrace(key: object, status: number): void {
  const found = requestContexts.get(key);
  if (found === undefined) return;
  requestContexts.delete(key);
  endSpan(found.span, status);
}

/** Records an HTTP status on a span (5xx is an error; 4xx is the caller's, not the span's). */
export function recordStatus(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Ends a span, with the HTTP status it was answered with if any. */
export function endSpan(span: Span, status?: number): void {
  if (status !== undefined) recordStatus(span, status);
  span.end();
}

/** Marks a span failed by an error's stable code only (a message may name a host or worse). */
export function failSpan(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | undefined)?.code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
  if (typeof code === 'string') span.setAttribute('tessera.error', code);
}

/** `headers` with the current context's `traceparent` (and `tracestate`) added, for an outgoing call. */
export function withTraceHeaders<T extends Record<string, string>>(
  headers: T,
  from: Context = context.active(),
): T {
  propagation.inject(from, headers);
  return headers;
}

/** Starts a client span (an outgoing call) as a child of the current context. */
export function startClientSpan(name: string, attributes: Attributes): { span: Span; context: Context } {
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
  return { span, context: trace.setSpan(context.active(), span) };
}

/** Runs `work` in a span of its own (ended when it settles; failed by the error's code). */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  const span = tracer.startSpan(name, { kind, attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), () => work(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** `inSpan` for synchronous work (a token verified from a known key or the cache). */
export function inSpanSync<T>(name: string, attributes: Attributes, work: (span: Span) => T): T {
  const span = tracer.startSpan(name, { attributes });
  try {
    return work(span);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** What `traceRequests` needs of a request: Fastify's, by shape (core does not depend on Fastify). */
export interface TracedRequest {
  readonly raw: object;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly routeOptions: { readonly url?: string | undefined };
}

/** What `traceRequests` needs of a reply: Node's response under Fastify's, by shape. */
export interface TracedReply {
  readonly raw: {
    readonly statusCode: number;
    readonly writableFinished: boolean;
    on(event: 'finish' | 'error' | 'close', listener: () => void): unknown;
    removeListener(event: 'finish' | 'error' | 'close', listener: () => void): unknown;
  };
}

/** What `traceRequests` needs of an app: Fastify's `onRequest` hook, by shape. */
export interface TracedApp {
  addHook(
    name: 'onRequest',
    hook: (request: TracedRequest, reply: TracedReply, done: () => void) => void,
  ): unknown;
}

/**
 * A server span for every request of a Fastify app (a no-op without an SDK): it continues the
 * caller's `traceparent`, is the parent of what the handler does, and ends with the status
 * answered. Every part's listener adds it the same way.
 *
 * No `onResponse` hook: one makes Fastify add and remove two listeners on every response (about
 * 1 us a request even with nothing traced). A traced request's span ends on its response's
 * `finish` or `error` (the events Fastify's `onResponse` hooks run on), or `close` (aborted).
 */
export function traceRequests(app: TracedApp): void {
  app.addHook('onRequest', (request, reply, done) => {
    const parent = propagation.extract(context.active(), request.headers, headerGetter);
    let span: Span;
    if (sdkRegistered()) {
      const route = request.routeOptions.url ?? 'unmatched';
      const attributes = { 'http.request.method': request.method, 'http.route': route };
      span = tracer.startSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER, attributes }, parent);
    } else {
      // The no-op tracer's span, without the name and attributes it would not read.
      span = noopSpanOf(trace.getSpanContext(parent));
    }
    if (!traced(span)) {
      done();
      return;
    }
    const response = reply.raw;
    // 'close' as well: a caller that leaves before the answer, or an answer cut mid-way, emits
    // neither 'finish' nor 'error', and its span (the parent of the handler's) must still end.
    const end = (): void => {
      response.removeListener('finish', end);
      response.removeListener('error', end);
      response.removeListener('close', end);
      if (!response.writableFinished) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'aborted' });
        span.setAttribute('tessera.aborted', true);
      }
      endSpan(span, response.statusCode);
    };
    response.on('finish', end);
    response.on('error', end);
    response.on('close', end);
    context.with(trace.setSpan(parent, span), done);
  });
}
