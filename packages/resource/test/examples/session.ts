import { fastifyResource } from '@tessera/resource/fastify';
import {
  createSessionReferences,
  parseMintingKeys,
  parseReferenceKeys,
  sessionSource,
} from '@tessera/resource/session';
import { createSessionManager, type Session } from '@tessera/session';
import { RedisStore } from '@tessera/storage';
import Fastify from 'fastify';

// The same store as the gateway; a service reads sessions by their hash only.
const manager = createSessionManager({
  store: new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'shop:' }),
});
// orders' own keys, nobody else's: the ones that open what the gateway makes for it
// (ORDERS_ACCEPT=gateway=k1:<secret>) and the ones that mint for the services it calls
// (ORDERS_MINT=inventory=k1:<secret>,payments=k1:<secret>).
const references = createSessionReferences({
  self: 'orders',
  accept: parseReferenceKeys(process.env.ORDERS_ACCEPT ?? ''),
  mint: parseMintingKeys(process.env.ORDERS_MINT ?? ''),
});

const app = Fastify();
await app.register(fastifyResource, { source: sessionSource({ manager, references }) });
app.get('/orders', async (request) => ({
  user: request.principal?.subject,
  caller: request.principal?.clientId, // 'gateway'
}));
await app.listen({ host: '127.0.0.1', port: 4001 });

// The gateway, for each backend call: a reference for one service and one route, valid 30 s,
// naming the session by its store key, sealed with the gateway's key for that service.
const gateway = createSessionReferences({
  self: 'gateway',
  mint: parseMintingKeys(process.env.GATEWAY_MINT ?? ''),
});
export const header = (session: Session<object>) => ({
  'x-tessera-session': gateway.mint(session.idHash, [], 'orders', 'GET /orders'),
});
