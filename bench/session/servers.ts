// The three servers of the session benchmark. Run as a child process by index.ts
// (`servers.ts <kind> <redis-prefix>`): it listens on a free port, prints `READY <port>`, and
// exits on SIGTERM after closing its Redis connection. startServer() also runs them in-process.
import type { AddressInfo } from 'node:net';
import { createSessionManager } from '@tessera/session';
import { fastifySession } from '@tessera/session/fastify';
import { RedisStore } from '@tessera/storage';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import Fastify from 'fastify';
import { createClient } from 'redis';
import { type RunningServer, serveIfMain } from '../lib/servers.js';

export type ServerKind = 'bare' | 'tessera' | 'express-session';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

declare module 'express-session' {
  interface SessionData {
    userId: string;
  }
}

/** Fastify with no session at all: the ceiling. The route answers the same small JSON. */
async function bare(): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  app.get('/me', async () => ({ userId: 'alice', theme: 'dark' }));
  app.post('/login', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

/** Fastify + @tessera/session on Redis (ioredis, auto-pipelined). */
async function tessera(prefix: string): Promise<RunningServer> {
  const store = new RedisStore({ url: redisUrl, prefix, redis: { enableAutoPipelining: true } });
  const manager = createSessionManager({ store });
  const app = Fastify({ logger: false });
  await app.register(fastifySession, { manager });
  app.post('/login', { config: { session: { csrf: false } } }, async (request) => {
    await request.session.login('alice', {});
    return { ok: true };
  });
  app.get('/me', { config: { session: { required: true } } }, async (request) => {
    const current = request.session.require();
    return { userId: current.userId, theme: 'dark' };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** Express 5 + express-session + connect-redis 9 on node-redis 5, as their READMEs configure them. */
async function expressSession(prefix: string): Promise<RunningServer> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  const app = express();
  app.use(
    session({
      store: new ConnectRedisStore({ client, prefix }),
      secret: 'bench-secret-not-for-production',
      resave: false,
      saveUninitialized: false,
      // Secure would stop express-session from setting the cookie over plain http.
      cookie: { httpOnly: true, sameSite: 'lax', secure: false },
    }),
  );
  app.post('/login', (req, res) => {
    req.session.userId = 'alice';
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    if (req.session.userId === undefined) {
      res.status(401).json({ error: 'session_required' });
      return;
    }
    res.json({ userId: req.session.userId, theme: 'dark' });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await client.quit();
    },
  };
}

export function startServer(kind: ServerKind, prefix: string): Promise<RunningServer> {
  if (kind === 'bare') return bare();
  if (kind === 'tessera') return tessera(prefix);
  return expressSession(prefix);
}

await serveIfMain(import.meta.url, ([kind, prefix]) => startServer(kind as ServerKind, prefix ?? ''));
