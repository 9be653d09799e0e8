import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/support/browser.js';
import type { DevSystem } from '../src/dev/system.js';
import { startTracing, type Tracing, tracesUrl } from '../src/lib/tracing.js';
import { OtlpReceiver } from './support/otlp-receiver.js';
import { startDevOnFreePorts } from './support/processes.js';

const SECRET = 'tracing-dev-test-secret-0123456789abcdef';

/** POSTs an order whose body arrives in two parts 300 ms apart; resolves with the status. */
function trickled(url: string, headers: Record<string, string>): Promise<number> {
  const body = JSON.stringify({ item: 'tessera-red', quantity: 1 });
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': body.length },
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.write(body.slice(0, 10));
    setTimeout(() => request.end(body.slice(10)), 300);
  });
}

describe('startTracing: the standard variables', () => {
  it('is off without an endpoint or with OTEL_SDK_DISABLED, and refuses what it cannot do', async () => {
    expect(await startTracing({}, 'x')).toBeUndefined();
    expect(
      await startTracing(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' },
        'x',
      ),
    ).toBeUndefined();
    await expect(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'x')).rejects.toThrow(
      'OTEL_EXPORTER_OTLP_ENDPOINT is not a URL',
    );
    await expect(
      startTracing(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
        'x',
      ),
    ).rejects.toThrow(/grpc is not supported/);
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://other:4318/custom',
      }),
    ).toBe('http://other:4318/custom');
  });
});

/**
 * `tessera dev` in session mode, in this process, with the cli's tracing registered against a
 * real OTLP/HTTP receiver: a request that arrives with a traceparent continues that trace through
 * the gateway's session lookup and every service's (one process, so one service.name).
 */
describe('tracing under tessera dev, session mode', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing | undefined;
  let system: DevSystem;
  let dir: string;
  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, 'tessera-dev');
    ({ system, dir } = await startDevOnFreePorts('session', SECRET));
  });
  afterAll(async () => {
    await system?.close();
    await tracing?.shutdown();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('continues the caller’s trace: gateway, session lookups, orders, inventory and payments', async () => {
    const browser = new Browser();
    const login = await browser.fetch(`${system.urls.gateway}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    expect(login.status).toBe(204);
    const { csrf_token } = (await (await browser.fetch(`${system.urls.gateway}/auth/me`)).json()) as {
      csrf_token: string;
    };
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const order = await browser.fetch(`${system.urls.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-csrf-token': csrf_token,
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(order.status).toBe(201);
    // A second order whose body trickles in: the handler after the body still runs in the trace.
    const slowTraceId = randomBytes(16).toString('hex');
    const slow = await trickled(`${system.urls.gateway}/api/orders/orders`, {
      'content-type': 'application/json',
      'x-csrf-token': csrf_token,
      cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      traceparent: `00-${slowTraceId}-${callerSpan}-01`,
    });
    expect(slow).toBe(201);
    // Everything buffered is exported at shutdown.
    await tracing?.shutdown();
    tracing = undefined;

    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    expect(receiver.rejected).toEqual([]);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['tessera-dev']));
    const root = spans.find((s) => s.parentSpanId === callerSpan);
    expect(root).toMatchObject({
      kind: 2,
      attributes: { 'http.request.method': 'POST', 'http.route': '/*' },
    });
    const ids = new Set([callerSpan, ...spans.map((s) => s.spanId)]);
    for (const span of spans) expect(ids.has(span.parentSpanId), span.name).toBe(true);
    // The gateway's lookup and one per service (orders, then inventory and payments it called).
    expect(spans.filter((s) => s.name === 'tessera.session_lookup').length).toBe(4);
    const routes = spans.filter((s) => s.kind === 2).map((s) => s.attributes['http.route']);
    expect(routes.sort()).toEqual(['/*', '/charge', '/orders', '/reserve']);
    expect(
      spans
        .filter((s) => s.kind === 3)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['POST /api/orders', 'POST inventory', 'POST payments']);
  });
});
