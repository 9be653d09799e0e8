import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { methodNotAllowed } from '../lib/method-not-allowed.js';

/**
 * `jwks_uri`: the public keys of every published signing key (next, active, unexpired retired);
 * the KeySet copies only public members, so no `d`, `p`, `q` or `oct` key can appear.
 */
export function registerJwks(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/jwks', async (_request, reply) => {
    // Short cache: verifiers must see a `next` key well before it starts signing.
    reply.header('cache-control', 'public, max-age=60').removeHeader('pragma');
    reply.type('application/jwk-set+json');
    return ctx.keys.keySet.jwks();
  });
  methodNotAllowed(app, '/jwks', ['GET']);
}
