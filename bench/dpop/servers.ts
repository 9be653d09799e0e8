// The three servers of the DPoP benchmark, the same Fastify route `GET /orders` behind each check
// of checks.ts. Run as a child process by index.ts (`servers.ts <kind>`, with BENCH_ISSUER,
// BENCH_TOKEN_PEM, BENCH_PROOF_PEM, BENCH_DPOP_STORE and BENCH_PREFIX in the environment): it
// listens on a free port, prints `READY <port>`, and exits on SIGTERM.
import { fastifyResource } from '@tessera/resource/fastify';
import Fastify from 'fastify';
import { listenOnLoopback, type RunningServer, serveIfMain } from '../lib/servers.js';
import { floorCheck, type StoreKind, sourceOf, storeOf } from './checks.js';

export type ServerKind = 'bearer' | 'dpop' | 'floor';

const reply = { orders: [1, 2, 3] };

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

export async function startServer(kind: ServerKind): Promise<RunningServer> {
  const store = storeOf(env('BENCH_DPOP_STORE') as StoreKind, env('BENCH_PREFIX'));
  const app = Fastify({ logger: false });
  if (kind === 'floor') {
    const check = floorCheck(env('BENCH_TOKEN_PEM'), env('BENCH_PROOF_PEM'), store);
    app.get('/orders', async (request, res) => {
      const token = request.headers.authorization?.slice(5) ?? '';
      const proof = request.headers.dpop;
      if (typeof proof !== 'string' || !(await check(token, proof))) {
        return res.code(401).send({ error: 'invalid_token' });
      }
      return reply;
    });
  } else {
    const issuer = env('BENCH_ISSUER');
    const source = await sourceOf(kind, { issuer, audience: 'orders', keys: { jwksUri: issuer }, store });
    await app.register(fastifyResource, { source });
    app.get('/orders', async () => reply);
  }
  return listenOnLoopback(app, () => store.close());
}

await serveIfMain(import.meta.url, ([kind]) => startServer(kind as ServerKind));
