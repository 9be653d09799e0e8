// The servers of the scale benchmark, one per size (the sessions part runs bench/session's). Run
// as a child process by the sub-benchmarks (`servers.ts <kind> <args...>`): it listens on a free port, prints `READY <port>`, and exits on
// SIGTERM after closing what it opened.
//   resource <revoked-count>               Fastify + @tessera/resource, that many revoked jtis held
//                                          (BENCH_REVOKED_JTI among them, for the bench's check)
//   token <sqlite-file>                    the token service over a SQLite file filled beforehand
//   gateway <route-count> <upstream-url>   the gateway with that many public routes
//   upstream                               a bare Fastify answering a small JSON on every GET
// Secrets and keys come from the environment: BENCH_SIGNING_KEY (a throw-away private JWK),
// BENCH_ISSUER, BENCH_SECRET (the token service's secret, base64url).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { importSigningKey, KeySet, type PrivateJwk } from '@tessera/core';
import { createGateway, parseGatewayConfig } from '@tessera/gateway';
import { bearer, createVerifier, DenyList } from '@tessera/resource';
import { fastifyResource } from '@tessera/resource/fastify';
import { InProcessChannel, MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import { openTokenService } from '@tessera/token-service';
import Fastify, { type FastifyInstance } from 'fastify';
import { type RunningServer, serveIfMain } from '../lib/servers.js';

export type ServerKind = 'resource' | 'token' | 'gateway' | 'upstream';
export const audience = 'orders';
/** Far enough ahead that no entry or token of a run expires during it. */
const hourAhead = (): number => Math.floor(Date.now() / 1000) + 3600;

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

async function keySet(): Promise<KeySet> {
  return new KeySet().add(
    await importSigningKey(JSON.parse(env('BENCH_SIGNING_KEY')) as PrivateJwk),
    'active',
  );
}

async function listening(app: FastifyInstance, close: () => Promise<void> = async () => {}) {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close();
      await close();
    },
  };
}

/**
 * A deny-list of `count` revoked jtis of `issuer` (`first`, then random ones in the signer's
 * form, 16 bytes base64url), live for an hour.
 */
export function denyListOf(issuer: string, count: number, first?: string): DenyList {
  const list = new DenyList({ issuer });
  const until = hourAhead();
  const random = randomBytes(16 * count);
  for (let i = 0; i < count; i++) {
    const value =
      i === 0 && first !== undefined ? first : random.subarray(16 * i, 16 * i + 16).toString('base64url');
    list.add({ kind: 'jti', value, until });
  }
  return list;
}

/** A resource server holding `count` revoked jtis of its issuer, none of them the tokens asked with. */
async function resource(count: number): Promise<RunningServer> {
  const issuer = env('BENCH_ISSUER');
  const revocations = denyListOf(issuer, count, process.env.BENCH_REVOKED_JTI);
  const verifier = await createVerifier({
    issuer,
    audience,
    keys: await keySet(),
    cache: false,
    revocations,
  });
  const app = Fastify({ logger: false });
  await app.register(fastifyResource, { source: bearer(verifier) });
  app.get('/orders', async () => ({ orders: [1, 2, 3] }));
  return listening(app);
}

/** The token service as `tessera token-service` runs it, over a SQLite file the bench filled. */
async function token(filename: string): Promise<RunningServer> {
  const database = await createDatabase({ dialect: 'sqlite', filename });
  const store = new MemoryStore();
  const channel = new InProcessChannel();
  const service = await openTokenService({
    issuer: env('BENCH_ISSUER'),
    database,
    store,
    channel,
    secret: Buffer.from(env('BENCH_SECRET'), 'base64url'),
  });
  return listening(service.app, async () => {
    await service.close();
    await store.close();
    await channel.close();
    await database.destroy();
  });
}

/** The gateway with `count` public routes, `/svc-<i>` each, all to the one upstream. */
async function gateway(count: number, upstream: string): Promise<RunningServer> {
  const config = parseGatewayConfig({
    logLevel: 'silent',
    routes: Array.from({ length: count }, (_, i) => ({ prefix: `/svc-${i}`, upstream, auth: 'public' })),
  });
  return listening(await createGateway(config));
}

function upstream(): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  app.get('/*', async () => ({ orders: [1, 2, 3] }));
  return listening(app);
}

export function startServer(kind: ServerKind, args: readonly string[]): Promise<RunningServer> {
  const [first = '', second = ''] = args;
  if (kind === 'resource') return resource(Number(first));
  if (kind === 'token') return token(first);
  if (kind === 'gateway') return gateway(Number(first), second);
  return upstream();
}

await serveIfMain(import.meta.url, ([kind, ...args]) => startServer(kind as ServerKind, args));
