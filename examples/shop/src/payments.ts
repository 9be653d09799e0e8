import { randomUUID } from 'node:crypto';
import { HttpError } from '@tessera/core';
import { requireAudience } from '@tessera/resource';
import type { FastifyInstance } from 'fastify';
import { bodyFields, createShopService, positiveInteger, type ShopServiceOptions } from './service.js';

/**
 * `payments`: `POST /charge` with `{ amount, reference }`. Internal only (the gateway has no route
 * to it): the audience must be `payments`, the delegation chain's current actor `orders` (the
 * token's `act` in token mode, the session reference's chain in session mode) and in token mode
 * the token must carry `payments:charge`, so a user's own token (or one another service obtained)
 * is refused 403.
 */
export async function createPaymentsService(options: ShopServiceOptions): Promise<FastifyInstance> {
  const { app, protect, trace } = await createShopService('payments', options);
  const needs = { scopes: ['payments:charge'], via: ['orders'] };

  app.post('/charge', { config: protect(needs, requireAudience('payments')) }, async (request, reply) => {
    const body = bodyFields(request.body);
    const amount = positiveInteger(body.amount, 100_000_000);
    if (amount === undefined || typeof body.reference !== 'string' || body.reference.length === 0) {
      throw new HttpError('ERR_HTTP_REQUEST_INVALID', 'amount and reference required');
    }
    return reply.code(201).send({
      charge: { id: randomUUID(), amount, reference: body.reference },
      seen: trace(request.principal),
    });
  });
  return app;
}
