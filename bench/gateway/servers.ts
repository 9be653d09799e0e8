// The servers of the gateway benchmark. Run as a child process by index.ts
// (`servers.ts <kind> [upstream-url]`): it listens on a free port, prints `READY <port>`, and
// exits on SIGTERM after closing what it opened. The gateways take their secrets from the
// environment: BENCH_SIGNING_KEY (a throw-away private JWK; the token gateway verifies with it
// in-process), BENCH_SESSION_SECRET, BENCH_REDIS_PREFIX and BENCH_IDENTITY_DB (the session gateway).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyHttpProxy from '@fastify/http-proxy';
import { importSigningKey, KeySet, type PrivateJwk } from '@tessera/core';
import { createGateway, parseGatewayConfig } from '@tessera/gateway';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Dispatcher, Pool } from 'undici';
import { type RunningServer, serveIfMain } from '../lib/servers.js';

export type ServerKind = 'upstream' | 'node-proxy' | 'proxy' | 'gateway-token' | 'gateway-session';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const issuer = 'https://bench.tessera.test';
export const audience = 'gateway';
/** The path every contestant is asked for; the gateways route its prefix. */
export const path = '/orders';

const reply = { orders: [1, 2, 3] };

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

async function listening(app: FastifyInstance): Promise<RunningServer> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

/** The upstream service: a bare Fastify answering a small JSON body on every GET. */
function upstream(): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  app.get('/*', async () => reply);
  return listening(app);
}

/** @fastify/http-proxy with no auth at all: the cost of proxying alone. */
async function proxy(target: string): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  await app.register(fastifyHttpProxy, { upstream: target });
  return listening(app);
}

/**
 * The floor of a proxy on Node: node:http in front, undici's Pool.dispatch behind (what the
 * gateway's proxy core runs on), and nothing else: no framework, no header rules, no checks, no
 * metrics. What the gateway costs over it is Tessera's; what it costs over nginx is Node's.
 */
async function nodeProxy(target: string): Promise<RunningServer> {
  const pool = new Pool(target, { connections: 128, pipelining: 1 });
  const server = createServer((request, response) => {
    const { connection: _connection, host: _host, ...headers } = request.headers;
    const handler: Dispatcher.DispatchHandler = {
      // Its presence is what makes undici read the handler as one of its current interface.
      onRequestStart() {},
      onResponseStart(_controller, status, answer) {
        const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...kept } = answer;
        response.writeHead(status, kept);
      },
      onResponseData(_controller, chunk) {
        response.write(chunk);
      },
      onResponseEnd() {
        response.end();
      },
      onResponseError() {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      },
    };
    pool.dispatch(
      { path: request.url ?? '/', method: (request.method ?? 'GET') as Dispatcher.HttpMethod, headers },
      handler,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.destroy();
    },
  };
}

/** The Tessera gateway, one token route, keys in-process, the default verified-token cache. */
async function gatewayToken(target: string): Promise<RunningServer> {
  const key = await importSigningKey(JSON.parse(env('BENCH_SIGNING_KEY')) as PrivateJwk);
  const config = parseGatewayConfig({
    token: { issuer, audience },
    logLevel: 'silent',
    routes: [{ prefix: path, upstream: target, auth: 'token' }],
  });
  return listening(await createGateway(config, { tokenKeys: new KeySet().add(key, 'active') }));
}

/** The Tessera gateway, one session route, sessions on Redis, users in a SQLite file. */
async function gatewaySession(target: string): Promise<RunningServer> {
  const config = parseGatewayConfig({
    session: {
      store: { type: 'redis', url: redisUrl, keyPrefix: env('BENCH_REDIS_PREFIX') },
      insecureHttpLocalhost: true,
    },
    identity: { database: `sqlite:${env('BENCH_IDENTITY_DB')}` },
    logLevel: 'silent',
    routes: [{ prefix: path, upstream: target, auth: 'session', audience: 'orders' }],
  });
  return listening(
    await createGateway(config, {
      sessionReferenceKeys: { orders: { id: 'bench', secret: env('BENCH_SESSION_SECRET') } },
    }),
  );
}

export function startServer(kind: ServerKind, target: string): Promise<RunningServer> {
  if (kind === 'upstream') return upstream();
  if (kind === 'node-proxy') return nodeProxy(target);
  if (kind === 'proxy') return proxy(target);
  if (kind === 'gateway-token') return gatewayToken(target);
  return gatewaySession(target);
}

await serveIfMain(import.meta.url, ([kind, target]) => startServer(kind as ServerKind, target ?? ''));
