import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { eventually } from '../../../test/support/eventually.js';
import { freePort } from '../../../test/support/redis-server.js';
import { devClientSecret, devSeed } from '../src/dev/seed.js';
import { codeFlowToken } from './support/code-flow.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { type SpawnedCommand, spawnTessera } from './support/processes.js';

const SECRET = 'tracing-test-secret-0123456789abcdef-0123';

/**
 * The token service, orders, inventory, payments and the gateway, each a process of its own with
 * the OpenTelemetry SDK registered by OTEL_EXPORTER_OTLP_ENDPOINT, exporting to a real OTLP/HTTP
 * receiver on 127.0.0.1: one order through the gateway must be one trace across all of them.
 */
describe('tracing across processes: one order, one trace', { timeout: 90_000 }, () => {
  const children = new Set<ChildProcess>();
  let dir: string;
  let receiver: OtlpReceiver;
  const ports = { tokenService: 0, gateway: 0, orders: 0, inventory: 0, payments: 0 };
  const url = (port: number) => `http://127.0.0.1:${port}`;

  function otelEnv(service?: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '',
      TESSERA_SECRET: SECRET,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      // Exported within a fifth of a second, not the SDK's default five.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      ...(service === undefined ? {} : { OTEL_SERVICE_NAME: service }),
    };
  }

  function spawnShop(name: string, port: number, extra: string[] = []): SpawnedCommand {
    return spawnTessera(
      ['shop-service', name, '--port', String(port), '--issuer', url(ports.tokenService), ...extra],
      {
        env: { ...otelEnv(), TESSERA_SHOP_CLIENT_SECRET: devClientSecret(SECRET, 'orders') },
        cwd: dir,
        children,
      },
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-tracing-'));
    receiver = await OtlpReceiver.start();
    for (const part of Object.keys(ports) as (keyof typeof ports)[]) ports[part] = await freePort();
    writeFileSync(join(dir, 'seed.yaml'), stringify(devSeed(SECRET, url(ports.gateway))), { mode: 0o600 });
    writeFileSync(
      join(dir, 'gateway.yaml'),
      stringify({
        listen: { host: '127.0.0.1', port: ports.gateway },
        publicOrigin: url(ports.gateway),
        logLevel: 'warn',
        token: { issuer: url(ports.tokenService), audience: ['orders', 'inventory'] },
        routes: [{ prefix: '/api/orders', upstream: url(ports.orders), auth: 'token', stripPrefix: true }],
      }),
    );
    const tokenService = spawnTessera(
      [
        'token-service',
        '--port',
        String(ports.tokenService),
        '--db',
        `sqlite:${join(dir, 'tessera.db')}`,
        '--seed',
        join(dir, 'seed.yaml'),
        '--dev',
      ],
      { env: otelEnv(), cwd: dir, children },
    );
    await tokenService.waitFor(/listening on/, 60_000);
    const started = [
      spawnShop('payments', ports.payments),
      spawnShop('inventory', ports.inventory),
      spawnShop('orders', ports.orders, [
        '--inventory-url',
        url(ports.inventory),
        '--payments-url',
        url(ports.payments),
      ]),
    ];
    const gateway = spawnTessera(['gateway', '--config', join(dir, 'gateway.yaml')], {
      env: otelEnv('edge-gateway'),
      cwd: dir,
      children,
    });
    await Promise.all([
      ...started.map((s) => s.waitFor(/listening on/, 60_000)),
      gateway.waitFor(/listening on/, 60_000),
    ]);
  }, 90_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await receiver?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const aliceToken = () => codeFlowToken(url(ports.tokenService), 'alice');

  it('the gateway starts the trace, every hop carries traceparent, and the spans form one tree', async () => {
    const token = await aliceToken();
    const order = await fetch(`${url(ports.gateway)}/api/orders/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ item: 'tessera-red', quantity: 1 }),
    });
    expect(order.status).toBe(201);

    // The gateway's server span for this request: the root of the order's trace.
    const root = await eventually(
      async () => {
        const found = receiver.spans.find(
          (s) =>
            s.service === 'edge-gateway' && s.kind === 2 && s.attributes['http.request.method'] === 'POST',
        );
        if (found === undefined) throw new Error('no gateway span yet');
        return found;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(root.parentSpanId).toBe('');
    const inTrace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === root.traceId);
    const services = ['edge-gateway', 'orders', 'inventory', 'payments', 'tessera-token-service'];
    await eventually(
      async () => {
        const seen = new Set(inTrace().map((s) => s.service));
        for (const service of services) if (!seen.has(service)) throw new Error(`no span of ${service} yet`);
        // The last spans to end: inventory's and payments' server spans, and orders' own.
        for (const service of ['orders', 'inventory', 'payments']) {
          if (!inTrace().some((s) => s.service === service && s.kind === 2))
            throw new Error(`no server span of ${service} yet`);
        }
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const spans = inTrace();
    expect(receiver.rejected).toEqual([]);
    // One tree: every span but the root has its parent in the same trace.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const span of spans) {
      if (span === root) continue;
      expect(ids.has(span.parentSpanId), `${span.service} ${span.name} has its parent in the trace`).toBe(
        true,
      );
    }
    const named = (service: string, name: string) =>
      spans.filter((s) => s.service === service && s.name === name);
    // The gateway verified the token and called orders (a client span, parent of orders' server span).
    expect(named('edge-gateway', 'tessera.verify_token').length).toBeGreaterThan(0);
    const upstream = spans.find((s) => s.service === 'edge-gateway' && s.kind === 3);
    expect(upstream?.attributes['tessera.route']).toBe('/api/orders');
    const ordersServer = spans.find((s) => s.service === 'orders' && s.kind === 2);
    expect(ordersServer?.parentSpanId).toBe(upstream?.spanId);
    // Orders verified, exchanged (its token requests reached the token service in this trace),
    // and called inventory and payments, whose server spans are children of those calls.
    expect(named('orders', 'tessera.verify_token').length).toBeGreaterThan(0);
    const exchanges = named('orders', 'tessera.token_request');
    expect(exchanges.map((s) => s.attributes['tessera.audience']).sort()).toEqual(['inventory', 'payments']);
    const tokenServer = spans.filter((s) => s.service === 'tessera-token-service' && s.kind === 2);
    expect(tokenServer.map((s) => s.parentSpanId).sort()).toEqual(exchanges.map((s) => s.spanId).sort());
    for (const callee of ['inventory', 'payments']) {
      const call = spans.find((s) => s.service === 'orders' && s.kind === 3 && s.name === `POST ${callee}`);
      const server = spans.find((s) => s.service === callee && s.kind === 2);
      expect(server?.parentSpanId, callee).toBe(call?.spanId);
      expect(named(callee, 'tessera.verify_token').length, callee).toBeGreaterThan(0);
    }
    // Nothing secret in a span: no token, no client secret.
    const exported = JSON.stringify(spans);
    expect(exported).not.toContain(token);
    expect(exported).not.toContain(devClientSecret(SECRET, 'orders'));
  });
});
