import { REVOCATION_TOPIC } from '@tessera/core';
import {
  bearer,
  createServiceClient,
  createVerifier,
  requireDelegation,
  requireScope,
  subscribeRevocations,
} from '@tessera/resource';
import { authenticationOf, fastifyResource, requestSerializer } from '@tessera/resource/fastify';
import { RedisChannel } from '@tessera/storage';
import Fastify from 'fastify';

const issuer = process.env.TESSERA_ISSUER ?? 'http://127.0.0.1:4000';

// Revocation events from the token service (a Redis stream), kept in a deny-list.
const channel = new RedisChannel({ url: 'redis://127.0.0.1:6379' });
const revocations = await subscribeRevocations(channel, REVOCATION_TOPIC, { issuer });

// Discovery finds the JWKS; every token is checked locally, the deny-list on every request.
const verifier = await createVerifier({ issuer, audience: 'orders', cache: true, revocations });

// Calls to other services carry a token exchanged for their audience (or our own token).
const callService = createServiceClient({
  tokenEndpoint: `${issuer}/token`,
  clientId: 'orders',
  clientSecret: process.env.ORDERS_CLIENT_SECRET ?? '',
});

const app = Fastify({ logger: { serializers: { req: requestSerializer } } });
await app.register(fastifyResource, { source: bearer(verifier) }); // every route protected by default

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }));

app.get('/orders', { config: { auth: { policy: requireScope('orders:read') } } }, async (request) => {
  return { user: request.principal?.subject, via: request.principal?.actors.map((a) => a.subject) };
});

app.post('/orders', { config: { auth: { policy: requireScope('orders:write') } } }, async (request) => {
  const charge = await callService('http://127.0.0.1:4002/charge', {
    method: 'POST',
    audience: 'payments',
    scope: ['payments:charge'],
    on: authenticationOf(request),
  });
  return { charged: charge.status === 200 };
});

// Only reachable through the gateway: the current actor must be `gateway`.
app.get(
  '/internal',
  { config: { auth: { policy: requireDelegation({ via: ['gateway'] }) } } },
  async () => ({}),
);

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 4001) });
console.log(`orders listening on ${address}`);
