import { serveHealthEndpoints } from '@tessera/core';
import { probeChannel, probeStore } from '@tessera/storage';
import { probeDatabase } from '@tessera/storage/sql';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServiceContext } from '../context.js';

/**
 * `/healthz` is liveness: 200 while the process serves HTTP, whatever its dependencies do (a
 * restart does not bring a database back). `/readyz` is readiness: 200 when the SQL database and
 * the key-value store (and a Redis channel, where revocations are announced) answer within the
 * probe deadline, 503 naming the one that did not. Both are core's (`serveHealthEndpoints`).
 */
export function registerHealth(app: FastifyInstance, ctx: ServiceContext): void {
  serveHealthEndpoints(app, {
    database: () => probeDatabase(ctx.db as Kysely<unknown>),
    store: () => probeStore(ctx.store),
    // Only a channel with a server of its own (Redis) has anything to probe.
    ...(ctx.channel.probe === undefined ? {} : { channel: () => probeChannel(ctx.channel) }),
  });
}
