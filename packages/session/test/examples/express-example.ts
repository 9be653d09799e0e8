import { createSessionManager } from '@tessera/session';
import { expressSession, requireSession, sessionErrorHandler, sessionOf } from '@tessera/session/express';
import { MemoryStore } from '@tessera/storage';
import express from 'express';

const sessions = createSessionManager({
  store: new MemoryStore(), // RedisStore for more than one instance
  cookie: { insecureHttpLocalhost: true }, // plain http://localhost in development only
});

const app = express();
app.use(express.json(), express.urlencoded({ extended: false })); // parse bodies first: _csrf

// Login gets its own instance without the CSRF check; every later route is checked.
app.post('/login', expressSession({ manager: sessions, csrf: false }), async (req, res) => {
  const session = await sessionOf(req).login(String(req.body.user), {});
  res.json({ csrfToken: session.csrfToken });
});
app.use(expressSession({ manager: sessions }));

app.get('/me', requireSession(), (req, res) => {
  res.json({ userId: sessionOf(req).require().userId });
});

app.post('/logout', async (req, res) => {
  await sessionOf(req).logout();
  res.status(204).end();
});

app.use(sessionErrorHandler()); // any error -> { error: { code, message } }

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  console.log(
    `listening on http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : ''}`,
  );
});
