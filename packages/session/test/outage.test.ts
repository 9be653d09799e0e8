import { RedisStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, PrivateRedisServer } from '../../../test/support/redis-server.js';
import { createSessionManager, type SessionData } from '../src/manager.js';
import { buildFastifyApp, listen } from './support/fastify-app.js';
import { type Answer, cookiePair, jsonBody, send } from './support/http.js';

/** Retries until `attempt` resolves to a value `accept` likes, or the deadline passes. */
async function eventually(
  attempt: () => Promise<Answer>,
  accept: (a: Answer) => boolean,
  ms = 15_000,
): Promise<Answer> {
  const end = Date.now() + ms;
  for (;;) {
    const answer = await attempt();
    if (accept(answer) || Date.now() > end) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A private redis-server that the test freezes (SIGSTOP: connections stay open, nothing is
// answered, the data is kept in memory) and thaws (SIGCONT); and kills and restarts for the
// reconnection path. The shared server on 6379 is never touched.
describe('session store outage (docs/security.md E123)', () => {
  let server: PrivateRedisServer;
  let store: RedisStore;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    server = new PrivateRedisServer(await freePort());
    await server.start();
    // The store's own timeout is set far beyond the test timeout: only the manager's
    // storeTimeoutMs can end a request while Redis is frozen, so an answer at all proves it.
    store = new RedisStore({ redis: { host: '127.0.0.1', port: server.port }, commandTimeoutMs: 120_000 });
    app = await buildFastifyApp(createSessionManager<SessionData>({ store, storeTimeoutMs: 300 }));
    base = await listen(app);
  });
  afterAll(async () => {
    server.resume();
    await app.close();
    await store.close();
    await server.kill();
  });

  async function login(userId: string): Promise<Answer> {
    const { headers, body } = jsonBody({ userId });
    return send(`${base}/login`, { method: 'POST', headers, body });
  }

  it('a frozen Redis: 503 ERR_SESSION_STORE_UNAVAILABLE, then recovery with every session kept', async () => {
    const cookies: string[] = [];
    for (const user of ['u1', 'u2', 'u3']) cookies.push(cookiePair((await login(user)).setCookie));

    server.pause();
    for (const cookie of cookies) {
      const answer = await send(`${base}/me`, { headers: { cookie } });
      expect(answer.status).toBe(503);
      expect(answer.json()).toEqual({
        error: { code: 'ERR_SESSION_STORE_UNAVAILABLE', message: expect.any(String) },
      });
      expect(answer.text).not.toContain(String(server.port));
    }
    const refused = await login('u4');
    expect(refused.status).toBe(503);
    expect(refused.json().error?.code).toBe('ERR_SESSION_STORE_UNAVAILABLE');
    expect(refused.setCookie).toBeUndefined();
    // A request that needs no session does not depend on the store.
    expect((await send(`${base}/public`)).json()).toEqual({ state: 'anonymous' });

    server.resume();
    for (const [i, cookie] of cookies.entries()) {
      const answer = await eventually(
        () => send(`${base}/me`, { headers: { cookie } }),
        (a) => a.status === 200,
      );
      expect(answer.status).toBe(200);
      expect(answer.json().userId).toBe(`u${i + 1}`);
    }
  });

  it('a frozen Redis under a store that bounds its own calls: the same 503, with no timer of the manager', async () => {
    // settlesWithinMs (200) fits in storeTimeoutMs (5 000): the manager sets no timer, so only the
    // store's own command timeout can end these requests; its error is still translated.
    const bounded = new RedisStore({
      redis: { host: '127.0.0.1', port: server.port },
      commandTimeoutMs: 200,
    });
    const boundedApp = await buildFastifyApp(
      createSessionManager<SessionData>({ store: bounded, storeTimeoutMs: 5_000 }),
    );
    try {
      const boundedBase = await listen(boundedApp);
      const { headers, body } = jsonBody({ userId: 'b1' });
      const cookie = cookiePair(
        (await send(`${boundedBase}/login`, { method: 'POST', headers, body })).setCookie,
      );
      server.pause();
      const answer = await send(`${boundedBase}/me`, { headers: { cookie } });
      expect(answer.status).toBe(503);
      expect(answer.json().error?.code).toBe('ERR_SESSION_STORE_UNAVAILABLE');
      server.resume();
      const back = await eventually(
        () => send(`${boundedBase}/me`, { headers: { cookie } }),
        (a) => a.status === 200,
      );
      expect(back.json().userId).toBe('b1');
    } finally {
      server.resume();
      await boundedApp.close();
      await bounded.close();
    }
  });

  it('a killed Redis: 503, then the service recovers by itself when Redis returns', async () => {
    const before = cookiePair((await login('k1')).setCookie);
    await server.kill();
    const down = await send(`${base}/me`, { headers: { cookie: before } });
    expect(down.status).toBe(503);
    expect(down.json().error?.code).toBe('ERR_SESSION_STORE_UNAVAILABLE');

    await server.start(); // an empty server: this one persisted nothing
    const back = await eventually(
      () => login('k2'),
      (a) => a.status === 200,
    );
    expect(back.status).toBe(200);
    const me = await send(`${base}/me`, { headers: { cookie: cookiePair(back.setCookie) } });
    expect(me.json().userId).toBe('k2');
  });
});
