import { createSessionManager } from '@tessera/session';
import { fastifySession } from '@tessera/session/fastify';
import { MemoryStore } from '@tessera/storage';
import Fastify from 'fastify';

declare module '@tessera/session' {
  interface SessionData {
    theme?: string;
  }
}

const sessions = createSessionManager({
  store: new MemoryStore(), // RedisStore for more than one instance
  cookie: { insecureHttpLocalhost: true }, // plain http://localhost in development only
});

const app = Fastify();
await app.register(fastifySession, { manager: sessions });

// Check the password first (e.g. with @tessera/identity); login always issues a new id.
app.post<{ Body: { user: string } }>('/login', { config: { session: { csrf: false } } }, async (request) => {
  const session = await request.session.login(request.body.user, { theme: 'light' });
  return { csrfToken: session.csrfToken }; // the page sends it back as x-csrf-token
});

app.get('/me', { config: { session: { required: true } } }, async (request) => {
  const { userId, data } = request.session.require();
  return { userId, theme: data.theme };
});

// Unsafe methods on a session need the CSRF token (x-csrf-token header or _csrf form field).
app.post<{ Body: { theme: string } }>(
  '/theme',
  { config: { session: { required: true } } },
  async (request) => {
    const session = await request.session.update({ theme: request.body.theme });
    return { theme: session.data.theme };
  },
);

app.post('/logout', async (request, reply) => {
  await request.session.logout(); // Max-Age=0 and Clear-Site-Data: "cookies"
  return reply.code(204).send();
});

app.post('/logout-everywhere', { config: { session: { required: true } } }, async (request) => {
  return { ended: await sessions.destroyAllForUser(request.session.require().userId) };
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${address}`);
