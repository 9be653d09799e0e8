import { checkReadiness, readinessBody } from '@tessera/core';
import { probeChannel, probeStore } from '@tessera/storage';
import { probeDatabase } from '@tessera/storage/sql';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServiceContext } from '../context.js';

/**
 * `/healthz` is liveness: 200 while the process serves HTTP, whatever its dependencies do (a
 * restart does not bring a database back). `/readyz` is readiness: 200 when the SQL database and
 * the key-value store (and a Redis channel, where revocations are announced) answer within the
 * probe deadline, 503 naming the one that did not.
 */
export function registerHealth(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const report = await checkReadiness(
      {
        database: () => probeDatabase(ctx.db as Kysely<unknown>),
        store: () => probeStore(ctx.store),
        // Only a channel with a server of its own (Redis) has anything to probe.
        ...(ctx.channel.probe === undefined ? {} : { channel: () => probeChannel(ctx.channel) }),
      },
      {
        // The code only: a driver's message may name a host or a connection string.
        onFailure: (dependency, state, error) =>
          request.log.warn(
            { dependency, state, code: (error as { code?: unknown } | undefined)?.code },
            'readiness check failed',
          ),
      },
    );
    reply.code(report.ready ? 200 : 503);
    return readinessBody(report);
  });
}
