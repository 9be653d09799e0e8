import { EventEmitter } from 'node:events';
import { context, propagation, type SpanContext, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { type TracedApp, type TracedReply, type TracedRequest, traceRequests } from '@tessera/core';
import { afterAll, describe, expect, it } from 'vitest';

// core's `traceRequests` takes its no-SDK shortcut (no route name, no attributes) only while no
// tracer provider is registered; these run both ways in one process. The SDK is this package's
// (the CLI registers it): core does not depend on it. In this order, in one file: core's tracer is
// the API's proxy of when core loaded, which `trace.disable()` detaches, so the SDK case comes
// before any disable, and the case after it keeps its propagator and context manager.
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

type Hook = (request: TracedRequest, reply: TracedReply, done: () => void) => void;

function hooksOf(): { onRequest: Hook } {
  const hooks = new Map<string, Hook>();
  traceRequests({
    addHook: (name: string, hook: Hook) => hooks.set(name, hook),
  } as unknown as TracedApp);
  const onRequest = hooks.get('onRequest');
  // Only onRequest: an onResponse hook would cost every response Fastify's listeners.
  expect([...hooks.keys()]).toEqual(['onRequest']);
  if (onRequest === undefined) throw new Error('hook not added');
  return { onRequest };
}

/** A response as Node's: its status, whether it finished, and the events a span ends on. */
function responseOf(status: number): EventEmitter & { statusCode: number; writableFinished: boolean } {
  return Object.assign(new EventEmitter(), { statusCode: status, writableFinished: false });
}

/** One request through the hooks: the span context active in its handler, and the route reads. */
function serve(
  headers: Record<string, string>,
  url: string | undefined,
  status = 200,
  options: { ending?: 'finish' | 'close'; exporter?: InMemorySpanExporter } = {},
): { seen: SpanContext | undefined; routeReads: number } {
  const { onRequest } = hooksOf();
  let routeReads = 0;
  const request: TracedRequest = {
    raw: {},
    method: 'GET',
    headers,
    get routeOptions() {
      routeReads++;
      return { url };
    },
  };
  let seen: SpanContext | undefined;
  let called = false;
  const raw = responseOf(200);
  onRequest(request, { raw }, () => {
    called = true;
    seen = trace.getSpanContext(context.active());
  });
  // The handler answers after the hook: the span ends with what it answered, when it is sent.
  raw.statusCode = status;
  const finishedBefore = options.exporter?.getFinishedSpans().length;
  if (options.ending === 'close') raw.emit('close');
  else {
    raw.writableFinished = true;
    raw.emit('finish');
    raw.emit('close');
  }
  expect(called).toBe(true);
  if (options.exporter !== undefined) {
    expect(options.exporter.getFinishedSpans().length).toBe((finishedBefore ?? 0) + 1);
  }
  // Whatever was traced, nothing stays listening once the response is done.
  expect(raw.listenerCount('finish') + raw.listenerCount('error') + raw.listenerCount('close')).toBe(0);
  return { seen, routeReads };
}

describe('traceRequests (core) with and without an SDK', () => {
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('with no SDK at all: no span is active, and the route is never read', () => {
    const { onRequest } = hooksOf();
    let reads = 0;
    let active: SpanContext | undefined = { traceId: 'x', spanId: 'y', traceFlags: 0 };
    onRequest(
      {
        raw: {},
        method: 'GET',
        headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
        get routeOptions() {
          reads++;
          return { url: '/orders' };
        },
      },
      { raw: responseOf(200) },
      () => {
        active = trace.getSpanContext(context.active());
      },
    );
    expect(active).toBeUndefined();
    expect(reads).toBe(0);
  });

  it('with an SDK: a server span named by the route template, a child of the caller, ended with the status', () => {
    const exporter = new InMemorySpanExporter();
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
    const { seen, routeReads } = serve(
      { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
      '/orders/:id',
      503,
      {
        exporter,
      },
    );
    expect(routeReads).toBe(1);
    serve({}, undefined, 404, { exporter });
    // A caller that leaves before the answer: only 'close'; the span still ends, marked aborted.
    serve({}, '/orders', 200, { ending: 'close', exporter });
    const [first, second, aborted] = exporter.getFinishedSpans();
    expect(first?.name).toBe('GET /orders/:id');
    expect(first?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'http.response.status_code': 503,
    });
    expect(first?.spanContext().traceId).toBe(TRACE_ID);
    expect(first?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(first?.status.code).toBe(2);
    expect(seen?.spanId).toBe(first?.spanContext().spanId);
    expect(second?.name).toBe('GET unmatched');
    expect(second?.attributes['http.route']).toBe('unmatched');
    expect(second?.status.code).toBe(0);
    expect(second?.attributes['tessera.aborted']).toBeUndefined();
    expect(aborted?.status).toMatchObject({ code: 2, message: 'aborted' });
    expect(aborted?.attributes['tessera.aborted']).toBe(true);
  });
  it('with a propagator and context manager but no tracer provider: the caller’s trace continues', () => {
    // The SDK case's register() set all three; disabling the tracer provider leaves the other two.
    trace.disable();
    const continued = serve({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }, '/orders');
    expect(continued.seen).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true });
    expect(continued.routeReads).toBe(0);
    // Without a traceparent there is nothing to continue.
    expect(serve({}, '/orders').seen).toBeUndefined();
  });
});
