import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { rawRequest } from '../../../test/support/raw-http.js';
import { RawConnection } from '../../../test/support/raw-socket.js';
import { closedPort, type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { parseGatewayConfig } from '../src/config.js';

let upstream: Upstream;
let gateway: FastifyInstance;
let base: string;
const logs = new LogCapture();

beforeAll(async () => {
  upstream = await startUpstream();
  const down = await closedPort();
  const config = parseGatewayConfig({
    upstreams: { timeoutMs: 300 },
    publicOrigin: 'https://shop.example',
    metrics: { public: true },
    routes: [
      { prefix: '/', upstream: upstream.url, auth: 'public' },
      { prefix: '/api/inventory', upstream: `${upstream.url}/v1`, auth: 'public', stripPrefix: true },
      { prefix: '/down', upstream: `http://127.0.0.1:${down}`, auth: 'public' },
    ],
  });
  gateway = await createGateway(config, { logDestination: logs });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

/** node:http, so the request target and the Connection header go out exactly as written. */
function call(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  return rawRequest(base, path, { headers, method, ...(body === undefined ? {} : { body }) });
}

describe('proxying on a public route (docs/security.md F87, F101)', () => {
  it('strips every header only the gateway may vouch for, and sets X-Forwarded-* itself', async () => {
    const { status, text, headers } = await call('/items?x=1', {
      authorization: 'Bearer client-token-value',
      cookie: '__Host-tessera-sid=client-cookie-value; theme=dark',
      'x-user-id': 'admin',
      'X-User-Roles': 'root',
      'x-tessera-foo': 'forged',
      'x-tessera-session': 'forged-reference',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'for=10.0.0.1;proto=https',
      'x-client-cert': 'forged-cert',
      'x-ssl-client-dn': 'CN=admin',
      'ssl-client-verify': 'SUCCESS',
      'x-real-ip': '10.0.0.2',
      'proxy-authorization': 'Basic x',
      te: 'trailers',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': 'named by connection',
      'x-kept': 'yes',
    });
    expect(status).toBe(200);
    const echo = JSON.parse(text) as Echo;
    expect(echo.url).toBe('/items?x=1');
    const seen = echo.headers;
    for (const name of [
      'authorization',
      'cookie',
      'x-user-id',
      'x-user-roles',
      'x-tessera-foo',
      'x-tessera-session',
      'forwarded',
      'x-client-cert',
      'x-ssl-client-dn',
      'ssl-client-verify',
      'x-real-ip',
      'proxy-authorization',
      'te',
      'x-drop-me',
    ]) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe('shop.example');
    expect(seen['x-kept']).toBe('yes');
    expect(JSON.stringify(seen)).not.toMatch(/client-token-value|client-cookie-value|forged|10\.0\.0/);
    // Hop-by-hop headers of the upstream's answer (and those its Connection names) stay behind.
    expect(headers['keep-alive']).not.toBe('timeout=5');
    expect(headers['x-upstream-secret']).toBeUndefined();
  });

  it('routes by the longest prefix and strips it when asked; bodies pass through', async () => {
    const strip = JSON.parse((await call('/api/inventory/items/7?q=a', {}, 'POST', '{"a":1}')).text) as Echo;
    expect(strip).toMatchObject({ method: 'POST', url: '/v1/items/7?q=a', body: '{"a":1}' });
    const root = JSON.parse((await call('/api/inventoryx')).text) as Echo;
    expect(root.url).toBe('/api/inventoryx');
  });

  it('answers Expect: 100-continue itself and forwards the body without the expectation', async () => {
    const connection = await RawConnection.open(base);
    try {
      await connection.write(
        'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n' +
          'Content-Length: 11\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      );
      // As curl does: the body follows the interim answer.
      expect(await connection.waitFor(/^HTTP\/1\.1 100 Continue/m, 2_000)).toBe(true);
      await connection.write('hello world');
      await connection.closed;
      expect(connection.status).toBe(200);
      const echo = JSON.parse(connection.body) as Echo;
      expect(echo).toMatchObject({ method: 'POST', url: '/upload', body: 'hello world' });
      expect(echo.headers.expect).toBeUndefined();
    } finally {
      connection.destroy();
    }
  });

  it('refuses a token in the query and dot segments, whatever the route', async () => {
    const query = await call('/items?access_token=abc.def.ghi');
    expect(query.status).toBe(400);
    expect(JSON.parse(query.text)).toMatchObject({ error: { code: 'ERR_AUTH_INVALID_REQUEST' } });
    expect(query.text).not.toContain('abc.def.ghi');
    expect((await call('/api/inventory/%2e%2e/admin')).status).toBe(400);
    expect((await call('/api/inventory/../admin')).status).toBe(400);
  });

  it('answers 502 for an upstream that is down and 504 for a slow one, without a stack', async () => {
    const down = await call('/down/x');
    expect(down.status).toBe(502);
    expect(JSON.parse(down.text)).toEqual({
      error: {
        code: 'ERR_UPSTREAM_UNAVAILABLE',
        message: 'The upstream could not be reached or broke the connection.',
      },
    });
    const slow = await call('/slow');
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.text)).toMatchObject({ error: { code: 'ERR_UPSTREAM_TIMEOUT' } });
    expect(`${down.text}${slow.text}`).not.toMatch(/ECONNREFUSED|at .*\.js|stack/);
  });

  it('answers /healthz, /readyz and /metrics (metrics.public) itself', async () => {
    expect(JSON.parse((await call('/healthz')).text)).toEqual({ status: 'ok' });
    // Public routes need nothing but the process.
    expect(JSON.parse((await call('/readyz')).text)).toEqual({ status: 'ok', checks: {} });
    const metrics = await call('/metrics');
    expect(metrics.text).toMatch(
      /tessera_gateway_requests_total\{route="\/",mode="public",status="200"\} \d+/,
    );
    expect(metrics.text).toContain(
      'tessera_gateway_requests_total{route="/down",mode="public",status="502"} 1',
    );
    expect(metrics.text).toMatch(
      /tessera_gateway_upstream_duration_seconds_count\{route="\/api\/inventory",status="200"\} \d+/,
    );
  });

  it('writes one access-log line per request, with no token, cookie or query in it', async () => {
    await call('/items?secret_query=hidden-value', {
      authorization: 'Bearer logged-token-value',
      cookie: 'tessera-sid=logged-cookie-value',
    });
    const line = logs.entries().find((entry) => entry.msg === 'request' && entry.path === '/items');
    expect(line).toMatchObject({ method: 'GET', route: '/', mode: 'public', status: 200 });
    expect(logs.text).not.toMatch(/logged-token-value|logged-cookie-value|hidden-value|client-token-value/);
  });
});
