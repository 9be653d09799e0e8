import { parse } from 'node:querystring';
import Fastify, { type FastifyInstance } from 'fastify';
import { fastifySession } from '../../src/adapters/fastify.js';
import type { SessionData, SessionManager } from '../../src/manager.js';

declare module '../../src/manager.js' {
  interface SessionData {
    role?: string;
    cart?: string[];
    theme?: string;
  }
}

/**
 * The application the HTTP tests drive: login, a session-only route, updates, logout, an admin
 * route that disables an account, and a public route.
 */
export async function buildFastifyApp(
  manager: SessionManager<SessionData>,
  options: { trustProxy?: boolean } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ trustProxy: options.trustProxy ?? false });
  // Forms carry `_csrf`; Fastify parses only JSON by itself.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parse(body as string));
  });
  await app.register(fastifySession, { manager });

  app.post<{ Body: { userId: string } }>(
    '/login',
    { config: { session: { csrf: false } } },
    async (request) => {
      const session = await request.session.login(request.body.userId, { role: 'user' });
      return { csrfToken: session.csrfToken };
    },
  );
  app.get('/me', { config: { session: { required: true } } }, async (request) => {
    const session = request.session.require();
    return { userId: session.userId, data: session.data, csrfToken: session.csrfToken };
  });
  app.post<{ Body: { theme?: string; cart?: string[] } }>(
    '/prefs',
    { config: { session: { required: true } } },
    async (request) => {
      const patch: SessionData = {};
      if (request.body.theme !== undefined) patch.theme = request.body.theme;
      if (request.body.cart !== undefined) patch.cart = request.body.cart;
      const session = await request.session.update(patch);
      return { data: session.data };
    },
  );
  app.post('/elevate', { config: { session: { required: true } } }, async (request) => {
    await request.session.rotate();
    return { ok: true };
  });
  app.get('/broken', async () => {
    throw new Error('the database at 10.1.2.3 refused user admin');
  });
  app.post('/logout', async (request, reply) => {
    await request.session.logout();
    return reply.code(204).send();
  });
  app.post<{ Params: { userId: string } }>('/admin/disable/:userId', async (request) => {
    return { ended: await manager.destroyAllForUser(request.params.userId) };
  });
  app.get('/public', async (request) => ({ state: request.session.state }));
  // An encapsulated child context: the plugin's checks must reach its routes too.
  await app.register(
    async (scope) => {
      scope.delete('/item', { config: { session: { required: true } } }, async () => ({ deleted: true }));
    },
    { prefix: '/scoped' },
  );
  return app;
}

/** Listens on 127.0.0.1, port 0, and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}
