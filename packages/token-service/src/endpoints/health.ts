import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ServiceContext } from '../context.js';

/** `/healthz`: 200 when the database answers, 503 otherwise (no detail: it goes to the log). */
export function registerHealth(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/healthz', async (request, reply) => {
    try {
      await sql`select 1`.execute(ctx.db);
      return { status: 'ok' };
    } catch (error) {
      request.log.error({ err: error }, 'health check: database unreachable');
      reply.code(503);
      return { status: 'unavailable' };
    }
  });
}
