import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  checkReadiness,
  KeySet,
  metricsAllowed,
  RemoteJwksKeySource,
  readinessBody,
  secretEquals,
  startMetricsListener,
} from '../src/index.js';

describe('checkReadiness', () => {
  it('names each dependency ok, unavailable or timeout; errors go to onFailure only', async () => {
    const failures: [string, string, unknown][] = [];
    const report = await checkReadiness(
      {
        database: async () => 'fine',
        store: async () => {
          throw Object.assign(new Error('redis://:hunter2@db.internal:6379 refused'), {
            code: 'ECONNREFUSED',
          });
        },
        frozen: () => new Promise(() => {}),
        thrown: () => {
          throw new Error('synchronously');
        },
      },
      { timeoutMs: 50, onFailure: (name, state, error) => failures.push([name, state, error]) },
    );
    expect(report).toEqual({
      ready: false,
      checks: { database: 'ok', store: 'unavailable', frozen: 'timeout', thrown: 'unavailable' },
    });
    expect(JSON.stringify(readinessBody(report))).not.toContain('hunter2');
    expect(failures.map(([name, state]) => `${name}:${state}`).sort()).toEqual([
      'frozen:timeout',
      'store:unavailable',
      'thrown:unavailable',
    ]);
  });

  it('is ready with every probe answering, and with none to run', async () => {
    expect(await checkReadiness({ a: async () => {} })).toEqual({ ready: true, checks: { a: 'ok' } });
    expect(readinessBody(await checkReadiness({}))).toEqual({ status: 'ok', checks: {} });
  });
});

describe('RemoteJwksKeySource.ensureKeys', () => {
  it('resolves with cached keys while the JWKS is gone; rejects with none, fetching once per cool-down', async () => {
    const keys = await KeySet.generate(['EdDSA']);
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys.jwks()));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const cached = new RemoteJwksKeySource({ url, timeout: 500 });
    const never = new RemoteJwksKeySource({ url, timeout: 500 });
    await cached.load();
    server.close();
    await once(server, 'close');
    await expect(cached.ensureKeys()).resolves.toBeUndefined();
    expect(cached.fetches).toBe(1);
    await expect(never.ensureKeys()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH_FAILED' });
    await expect(never.ensureKeys()).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH_FAILED' });
    expect(never.fetches).toBe(1);
  });
});

describe('metrics exposure', () => {
  it('secretEquals and metricsAllowed compare the whole bearer token', () => {
    const bearerToken = 'a'.repeat(40);
    expect(secretEquals(bearerToken, bearerToken)).toBe(true);
    expect(secretEquals(`${bearerToken}a`, bearerToken)).toBe(false);
    expect(metricsAllowed({ bearerToken }, `Bearer ${bearerToken}`)).toBe(true);
    expect(metricsAllowed({ bearerToken }, `bearer ${bearerToken}`)).toBe(true);
    expect(metricsAllowed({ bearerToken }, `Bearer ${bearerToken.slice(1)}`)).toBe(false);
    expect(metricsAllowed({ bearerToken }, `Basic ${bearerToken}`)).toBe(false);
    expect(metricsAllowed({ bearerToken }, undefined)).toBe(false);
    expect(metricsAllowed({ public: true }, undefined)).toBe(true);
    expect(metricsAllowed({ listen: { host: '127.0.0.1', port: 0 } }, undefined)).toBe(false);
  });

  it('a metrics listener answers GET /metrics only', async () => {
    const listener = await startMetricsListener(
      { host: '127.0.0.1', port: 0 },
      { contentType: 'text/plain; version=0.0.4', metrics: async () => 'up 1\n' },
    );
    try {
      const base = `http://127.0.0.1:${listener.port}`;
      const metrics = await fetch(`${base}/metrics?x=1`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toBe('up 1\n');
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await listener.close();
    }
  });
});
