import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIssuer } from '../../../test/support/issuer.js';
import { LogCapture } from '../../../test/support/logs.js';
import { expectReadinessFollowsRedis, readiness } from '../../../test/support/readiness.js';
import { freePort, PrivateRedisServer } from '../../../test/support/redis-server.js';
import { closedPort, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway } from '../src/app.js';
import { type GatewayConfigInput, parseGatewayConfig } from '../src/config.js';

let upstream: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-observability-'));

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listening(gateway: FastifyInstance): Promise<string> {
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
}

const publicRoute = () => ({ prefix: '/api', upstream: upstream.url, auth: 'public' as const });

// Session mode on a private redis-server, frozen (SIGSTOP), thawed, killed and started again;
// the shared server on 6379 is never touched.
describe('session mode on a private redis-server', () => {
  let server: PrivateRedisServer;
  let gateway: FastifyInstance;
  let base: string;
  const logs = new LogCapture();

  beforeAll(async () => {
    server = new PrivateRedisServer(await freePort());
    await server.start();
    const identity = `sqlite:${join(dir, 'identity.db')}`;
    const config = parseGatewayConfig({
      session: {
        store: { type: 'redis', url: `redis://127.0.0.1:${server.port}`, keyPrefix: 'gw:' },
        insecureHttpLocalhost: true,
      },
      identity: { database: identity, deactivationPollMs: 0 },
      routes: [{ prefix: '/api', upstream: upstream.url, auth: 'session', audience: 'orders' }],
    });
    gateway = await createGateway(config, {
      sessionReferenceKeys: { orders: { id: 'k1', secret: randomBytes(32).toString('base64url') } },
      logDestination: logs,
    });
    base = await listening(gateway);
  });
  afterAll(async () => {
    server.resume();
    await gateway?.close();
    await server?.kill();
  });

  const errorLines = () => logs.entries().filter((entry) => (entry.level as number) >= 50);
  const login = (body: string, type = 'application/json') =>
    fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': type }, body });

  it('is ready, not ready while Redis is frozen or gone (liveness unaffected), and ready again after', async () => {
    await expectReadinessFollowsRedis(server, base, {
      ready: { status: 'ok', checks: { 'session store': 'ok', 'user directory': 'ok' } },
      frozen: { status: 'unavailable', checks: { 'session store': 'timeout', 'user directory': 'ok' } },
    });
  });

  it('logs a 400, 401 or 404 below error level, and a 5xx at error level', async () => {
    logs.lines.length = 0;
    expect((await login('{"username":"nobody","password":"wrong-password"}')).status).toBe(401);
    expect((await login('{"username":')).status).toBe(400);
    expect((await login('{"username":"a"}')).status).toBe(400);
    expect((await fetch(`${base}/no-route-here`)).status).toBe(404);
    expect((await fetch(`${base}/api/orders`)).status).toBe(401);
    expect(errorLines()).toEqual([]);
    expect(logs.text).not.toContain('wrong-password');

    server.pause();
    try {
      expect((await login('{"username":"nobody","password":"wrong-password"}')).status).toBe(503);
    } finally {
      server.resume();
    }
    expect(errorLines().length).toBeGreaterThan(0);
  });
});

describe('token mode hearing revocations on a private redis-server', () => {
  it('is not ready while the revocation channel is frozen or gone, and ready again after', async () => {
    const server = new PrivateRedisServer(await freePort());
    await server.start();
    const issuer = await startIssuer(['EdDSA']);
    const gateway = await createGateway(
      parseGatewayConfig({
        token: {
          issuer: issuer.url,
          audience: 'gateway',
          revocations: { url: `redis://127.0.0.1:${server.port}`, prefix: 'gw-test:' },
        },
        routes: [{ prefix: '/api', upstream: upstream.url, auth: 'token' }],
      }),
      { logDestination: new LogCapture() },
    );
    try {
      const base = await listening(gateway);
      const checks = (channel: string) => ({ 'signing keys': 'ok', 'revocation channel': channel });
      await expectReadinessFollowsRedis(server, base, {
        ready: { status: 'ok', checks: checks('ok') },
        frozen: { status: 'unavailable', checks: checks('timeout') },
      });
    } finally {
      server.resume();
      await gateway.close();
      await issuer.close();
      await server.kill();
    }
  });
});

describe('token mode', () => {
  it('is ready with cached keys while the JWKS is unreachable; not ready without any keys', async () => {
    const issuer = await startIssuer(['EdDSA']);
    const token = { issuer: issuer.url, audience: 'gateway' };
    const route = { prefix: '/api', upstream: upstream.url, auth: 'token' as const };
    const withKeys = await createGateway(parseGatewayConfig({ token, routes: [route] }), {
      logDestination: new LogCapture(),
    });
    const noKeys = await createGateway(
      parseGatewayConfig({
        token: { ...token, jwksUri: `http://127.0.0.1:${await closedPort()}/jwks` },
        routes: [route],
      }),
      { logDestination: new LogCapture() },
    );
    try {
      const a = await listening(withKeys);
      const b = await listening(noKeys);
      expect(await readiness(a)).toEqual({
        status: 200,
        body: { status: 'ok', checks: { 'signing keys': 'ok' } },
      });
      issuer.behaviour = 'down';
      expect((await readiness(a)).status).toBe(200);
      expect(await readiness(b)).toEqual({
        status: 503,
        body: { status: 'unavailable', checks: { 'signing keys': 'unavailable' } },
      });
    } finally {
      await withKeys.close();
      await noKeys.close();
      await issuer.close();
    }
  });
});

describe('metrics exposure', () => {
  async function start(extra: Partial<GatewayConfigInput>) {
    const gateway = await createGateway(parseGatewayConfig({ routes: [publicRoute()], ...extra }), {
      logDestination: new LogCapture(),
    });
    return { gateway, base: await listening(gateway) };
  }

  it('unset: /metrics is not served', async () => {
    const { gateway, base } = await start({});
    try {
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
    } finally {
      await gateway.close();
    }
  });

  it('listen: only the separate listener serves /metrics; the public port answers 404', async () => {
    const port = await freePort();
    const { gateway, base } = await start({ metrics: { listen: { host: '127.0.0.1', port } } });
    try {
      expect((await fetch(`${base}/api/items`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain(
        'tessera_gateway_requests_total{route="/api",mode="public",status="200"} 1',
      );
      expect((await fetch(`http://127.0.0.1:${port}/api/items`)).status).toBe(404);
    } finally {
      await gateway.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('bearerToken: 401 without or with a wrong token, 200 with it', async () => {
    const bearerToken = randomBytes(32).toString('base64url');
    const { gateway, base } = await start({ metrics: { bearerToken } });
    try {
      const none = await fetch(`${base}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await none.json()).toEqual({
        error: 'metrics_unauthorized',
        error_description: expect.any(String),
      });
      const wrong = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${bearerToken}` } });
      expect(right.status).toBe(200);
      expect(await right.text()).toContain('tessera_gateway_requests_total');
    } finally {
      await gateway.close();
    }
  });

  it('the config refuses a short bearer token and two ways at once', () => {
    expect(() => parseGatewayConfig({ routes: [publicRoute()], metrics: { bearerToken: 'short' } })).toThrow(
      'metrics.bearerToken: at least 32 characters',
    );
    expect(() =>
      parseGatewayConfig({
        routes: [publicRoute()],
        metrics: { public: true, bearerToken: randomBytes(32).toString('base64url') } as never,
      }),
    ).toThrow('metrics: does not match any allowed form');
  });
});
