import type { Server } from 'node:http';
import express from 'express';
import {
  expressSession,
  requireSession,
  sessionErrorHandler,
  sessionOf,
} from '../../src/adapters/express.js';
import type { SessionData, SessionManager } from '../../src/manager.js';

/** The Express 5 twin of the Fastify test application. */
export function buildExpressApp(manager: SessionManager<SessionData>): express.Express {
  const app = express();
  app.use(express.json(), express.urlencoded({ extended: false }));
  // Login must not need a CSRF token: it gets its own instance of the middleware without the check.
  app.post('/login', expressSession({ manager, csrf: false }), async (req, res) => {
    const session = await sessionOf(req).login(String(req.body.userId), { role: 'user' });
    res.json({ csrfToken: session.csrfToken });
  });
  app.use(expressSession({ manager }));
  app.get('/me', requireSession(), (req, res) => {
    const session = sessionOf(req).require();
    res.json({ userId: session.userId, data: session.data, csrfToken: session.csrfToken });
  });
  app.post('/prefs', requireSession(), async (req, res) => {
    const session = await sessionOf(req).update({ theme: String(req.body.theme) });
    res.json({ data: session.data });
  });
  app.post('/logout', async (req, res) => {
    await sessionOf(req).logout();
    res.status(204).end();
  });
  app.get('/broken', () => {
    throw new Error('the database at 10.1.2.3 refused user admin');
  });
  app.use(sessionErrorHandler());
  return app;
}

export async function listenExpress(app: express.Express): Promise<{ base: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { base: `http://127.0.0.1:${address.port}`, server };
}
