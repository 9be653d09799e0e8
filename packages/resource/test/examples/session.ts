import { fastifyResource } from '@tessera/resource/fastify';
import { createSessionReferences, sessionSource } from '@tessera/resource/session';
import { createSessionManager } from '@tessera/session';
import { RedisStore } from '@tessera/storage';
import Fastify from 'fastify';

// The same store and the same secret as the gateway.
const manager = createSessionManager({
  store: new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'shop:' }),
});
const references = createSessionReferences({ secret: process.env.TESSERA_SESSION_SECRET ?? '' });

const app = Fastify();
await app.register(fastifyResource, { source: sessionSource({ manager, references, audience: 'orders' }) });
app.get('/orders', async (request) => ({ user: request.principal?.subject }));
await app.listen({ host: '127.0.0.1', port: 4001 });

// The gateway, for each backend call: a reference for one service and one route, valid 30 s.
export const header = (sessionId: string) => ({
  'x-tessera-session': references.sign(sessionId, 'orders', 'GET /orders'),
});
