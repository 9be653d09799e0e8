import { RedisStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../test/support/redis.js';
import { hashSessionId } from '../src/lib/ids.js';
import { createSessionManager, type SessionData } from '../src/manager.js';
import { buildFastifyApp, listen } from './support/fastify-app.js';
import { cookiePair, jsonBody, send } from './support/http.js';

interface Instance {
  readonly app: FastifyInstance;
  readonly store: RedisStore;
  readonly base: string;
}

// Two application instances, each with its own Redis connection and manager, share one Redis:
// what a load balancer in front of two gateways sees.
describe('two instances sharing Redis', () => {
  const prefix = randomPrefix('session:instances');
  let a: Instance;
  let b: Instance;

  async function start(): Promise<Instance> {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    const app = await buildFastifyApp(createSessionManager<SessionData>({ store }));
    return { app, store, base: await listen(app) };
  }
  async function stop(instance: Instance): Promise<void> {
    await instance.app.close();
    await instance.store.close();
  }
  async function login(on: Instance, userId: string): Promise<{ cookie: string; csrf: string }> {
    const { headers, body } = jsonBody({ userId });
    const answer = await send(`${on.base}/login`, { method: 'POST', headers, body });
    expect(answer.status).toBe(200);
    return { cookie: cookiePair(answer.setCookie), csrf: String(answer.json().csrfToken) };
  }
  const me = (on: Instance, cookie: string) => send(`${on.base}/me`, { headers: { cookie } });

  beforeAll(async () => {
    a = await start();
    b = await start();
  });
  afterAll(async () => {
    await stop(a);
    await stop(b);
    await deleteKeysWithPrefix(prefix);
  });

  it('a login on one is recognised by the other, and writes on either are seen by both', async () => {
    const { cookie, csrf } = await login(a, 'alice');
    expect((await me(b, cookie)).json()).toMatchObject({ userId: 'alice', csrfToken: csrf });
    const headers = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    expect(
      (await send(`${b.base}/prefs`, { method: 'POST', headers, body: '{"theme":"dark"}' })).status,
    ).toBe(200);
    expect((await me(a, cookie)).json().data).toEqual({ role: 'user', theme: 'dark' });
  });

  it('78: logout on one is seen by the other at once, and the record is gone from Redis', async () => {
    const { cookie, csrf } = await login(a, 'bob');
    expect((await me(b, cookie)).status).toBe(200);
    const out = await send(`${b.base}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    const replay = await me(a, cookie);
    expect(replay.status).toBe(401);
    expect(replay.json().error?.code).toBe('ERR_SESSION_REQUIRED');
    const client = new Redis(REDIS_URL);
    try {
      expect(await client.exists(`${prefix}session:s:${hashSessionId(cookie.split('=')[1] ?? '')}`)).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('one instance stops and the other goes on serving every session', async () => {
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await login(i % 2 === 0 ? a : b, `user-${i}`));
    await stop(a);
    for (const [i, { cookie }] of sessions.entries()) {
      const answer = await me(b, cookie);
      expect(answer.status).toBe(200);
      expect(answer.json().userId).toBe(`user-${i}`);
    }
    a = await start(); // so afterAll has something to stop, and a restarted instance sees them too
    for (const { cookie } of sessions) expect((await me(a, cookie)).status).toBe(200);
  });
});
