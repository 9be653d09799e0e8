// The five servers of the resource benchmark. Run as a child process by index.ts
// (`servers.ts <kind>`, with BENCH_ISSUER, BENCH_JWKS_URI and BENCH_PUBLIC_PEM in the environment):
// it listens on a free port, prints `READY <port>`, and exits on SIGTERM.
import { createPublicKey, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fastifyJwt from '@fastify/jwt';
import { bearer, createVerifier } from '@tessera/resource';
import { fastifyResource } from '@tessera/resource/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { type RunningServer, serveIfMain } from '../lib/servers.js';

export type ServerKind = 'bare' | 'floor' | 'fastify-jwt' | 'tessera' | 'tessera-cache';

const reply = { orders: [1, 2, 3] };

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

/** No check at all: the ceiling. */
function bare(app: FastifyInstance): void {
  app.get('/orders', async () => reply);
}

/** One crypto.verify on a cached KeyObject and no other check: the floor signature checking sets. */
function floor(app: FastifyInstance): void {
  const key = createPublicKey(env('BENCH_PUBLIC_PEM'));
  app.get('/orders', async (request, res) => {
    const token = request.headers.authorization?.slice(7) ?? '';
    const dot = token.lastIndexOf('.');
    const ok = verify(
      null,
      Buffer.from(token.slice(0, dot)),
      key,
      Buffer.from(token.slice(dot + 1), 'base64url'),
    );
    if (!ok) return res.code(401).send({ error: 'invalid_token' });
    return reply;
  });
}

/** @fastify/jwt (fast-jwt) with the same key, issuer and audience checks, no cache. */
async function withFastifyJwt(app: FastifyInstance): Promise<void> {
  await app.register(fastifyJwt, {
    secret: { public: env('BENCH_PUBLIC_PEM'), private: 'unused' },
    verify: { algorithms: ['EdDSA'], allowedIss: env('BENCH_ISSUER'), allowedAud: 'orders' },
  });
  app.get('/orders', {
    onRequest: async (request) => {
      await request.jwtVerify();
    },
    handler: async () => reply,
  });
}

/** @tessera/resource: bearer source, discovery-free jwksUri, with or without the token cache. */
async function withTessera(app: FastifyInstance, cache: boolean): Promise<void> {
  const verifier = await createVerifier({
    issuer: env('BENCH_ISSUER'),
    audience: 'orders',
    jwksUri: env('BENCH_JWKS_URI'),
    cache,
  });
  await app.register(fastifyResource, { source: bearer(verifier) });
  app.get('/orders', async () => reply);
}

export async function startServer(kind: ServerKind): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  if (kind === 'bare') bare(app);
  else if (kind === 'floor') floor(app);
  else if (kind === 'fastify-jwt') await withFastifyJwt(app);
  else await withTessera(app, kind === 'tessera-cache');
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

await serveIfMain(import.meta.url, ([kind]) => startServer(kind as ServerKind));
