import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/logs.js';
import { freePort } from '../../../test/support/redis-server.js';
import {
  type MetricsEndpoint,
  type ReadinessCheck,
  serveHealthEndpoints,
  serveMetricsEndpoint,
} from '../src/index.js';

// core's /healthz, /readyz and /metrics on a real Fastify app over HTTP: what the token service,
// the gateway and every shop service answer there (each part's own tests check which
// dependencies it names).

const registry = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => 'up 1\n' };
const refusal: MetricsEndpoint['unauthorized'] = () => ({
  status: 401,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: { error: 'part_refusal' },
});
const bearerToken = 'metrics-token-0123456789abcdef-0123456789';

let apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps) await app.close();
  apps = [];
});

async function start(setup: (app: FastifyInstance) => void, logs = new LogCapture()): Promise<string> {
  // A pino logger of its own types the instance apart from the default one; the shape is the same.
  const app = Fastify({ loggerInstance: pino({ level: 'info' }, logs) }) as unknown as FastifyInstance;
  apps.push(app);
  setup(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a port');
  return `http://127.0.0.1:${address.port}`;
}

describe('serveHealthEndpoints', () => {
  it('/healthz is 200 whatever the dependencies do; /readyz names each, 503 while one fails', async () => {
    let storeUp = true;
    const logs = new LogCapture();
    const checks: Record<string, ReadinessCheck> = {
      database: async () => {},
      store: async () => {
        if (!storeUp) {
          throw Object.assign(new Error('redis://:hunter2@db.internal:6379 refused'), {
            code: 'ECONNREFUSED',
          });
        }
      },
    };
    const base = await start((app) => serveHealthEndpoints(app, checks), logs);

    const up = await fetch(`${base}/readyz`);
    expect(up.status).toBe(200);
    expect(up.headers.get('cache-control')).toBe('no-store');
    expect(await up.json()).toEqual({ status: 'ok', checks: { database: 'ok', store: 'ok' } });

    storeUp = false;
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    const text = await down.text();
    expect(JSON.parse(text)).toEqual({
      status: 'unavailable',
      checks: { database: 'ok', store: 'unavailable' },
    });
    expect(text).not.toContain('hunter2');
    // The failure's code is logged at warn, its message (a connection string) nowhere.
    const warned = logs.entries().filter((entry) => entry.msg === 'readiness check failed');
    expect(warned).toMatchObject([
      { level: 40, dependency: 'store', state: 'unavailable', code: 'ECONNREFUSED' },
    ]);
    expect(logs.text).not.toContain('hunter2');

    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    expect(live.headers.get('cache-control')).toBe('no-store');
    expect(await live.json()).toEqual({ status: 'ok' });
  });

  it('a probe that never answers is a timeout, and /readyz still answers', async () => {
    const base = await start((app) => serveHealthEndpoints(app, { frozen: () => new Promise(() => {}) }));
    const answer = await fetch(`${base}/readyz`);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({ status: 'unavailable', checks: { frozen: 'timeout' } });
  });
});

describe('serveMetricsEndpoint', () => {
  it('unset: no /metrics anywhere', async () => {
    const base = await start((app) =>
      serveMetricsEndpoint(app, { exposure: undefined, registry, unauthorized: refusal }),
    );
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });

  it('listen: a listener of its own, opened with the app and closed with it; the public port answers 404', async () => {
    const port = await freePort();
    const exposure = { listen: { host: '127.0.0.1', port } };
    const base = await start((app) =>
      serveMetricsEndpoint(app, { exposure, registry, unauthorized: refusal }),
    );
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toBe(registry.contentType);
    expect(await scraped.text()).toBe('up 1\n');
    await apps.pop()?.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it("bearerToken: the part's own 401 with the challenge without or with a wrong token, the text with it", async () => {
    const base = await start((app) =>
      serveMetricsEndpoint(app, { exposure: { bearerToken }, registry, unauthorized: refusal }),
    );
    for (const authorization of [undefined, `Bearer ${bearerToken}x`, `Basic ${bearerToken}`]) {
      const refused = await fetch(
        `${base}/metrics`,
        authorization === undefined ? {} : { headers: { authorization } },
      );
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await refused.json()).toEqual({ error: 'part_refusal' });
    }
    const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${bearerToken}` } });
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toBe(registry.contentType);
    expect(right.headers.get('cache-control')).toBe('no-store');
    expect(await right.text()).toBe('up 1\n');
  });

  it("a refusal thrown by the part is answered by the app's error handler", async () => {
    const base = await start((app) => {
      app.setErrorHandler((error, _request, reply) =>
        reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ handled: (error as Error).message }),
      );
      serveMetricsEndpoint(app, {
        exposure: { bearerToken },
        registry,
        unauthorized: () => {
          throw new Error('the part refuses');
        },
      });
    });
    const refused = await fetch(`${base}/metrics`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ handled: 'the part refuses' });
  });

  it('public: the text to anyone', async () => {
    const base = await start((app) =>
      serveMetricsEndpoint(app, { exposure: { public: true }, registry, unauthorized: refusal }),
    );
    const answer = await fetch(`${base}/metrics`);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('up 1\n');
  });
});
