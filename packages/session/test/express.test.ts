import type { Server } from 'node:http';
import { MemoryStore } from '@tessera/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionManager, type SessionData } from '../src/manager.js';
import { buildExpressApp, listenExpress } from './support/express-app.js';
import { cookiePair, jsonBody, send } from './support/http.js';
import { countingStore } from './support/stores.js';

describe('Express 5 middleware over real HTTP', () => {
  const memory = new MemoryStore();
  const counting = countingStore(memory);
  let server: Server;
  let base: string;

  beforeAll(async () => {
    ({ base, server } = await listenExpress(
      buildExpressApp(createSessionManager<SessionData>({ store: counting.store })),
    ));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await memory.close();
  });

  async function login(
    cookie?: string,
  ): Promise<{ cookie: string; csrf: string; setCookie: string | undefined }> {
    const { headers, body } = jsonBody({ userId: 'alice' });
    const answer = await send(`${base}/login`, {
      method: 'POST',
      headers: { ...headers, ...(cookie === undefined ? {} : { cookie }) },
      body,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    return {
      cookie: cookiePair(answer.setCookie),
      csrf: String(answer.json().csrfToken),
      setCookie: answer.setCookie,
    };
  }

  it('logs in with a __Host- Secure HttpOnly cookie and a new id, even over a forged one', async () => {
    const forged = `__Host-tessera-sid=${Buffer.alloc(32, 3).toString('base64url')}`;
    const { cookie, setCookie } = await login(forged);
    expect(setCookie).toMatch(
      /^__Host-tessera-sid=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(cookie).not.toBe(forged);
    const me = await send(`${base}/me`, { headers: { cookie } });
    expect(me.json()).toMatchObject({ userId: 'alice', data: { role: 'user' } });
  });

  it('bad cookies and tossing are anonymous without store access; errors are JSON without detail', async () => {
    const { cookie } = await login();
    const reads = counting.reads();
    const writes = counting.writes();
    for (const value of [
      '__Host-tessera-sid=zzz',
      `${cookie}; ${cookie}`,
      `__Host-tessera-sid=${'x'.repeat(3000)}`,
    ]) {
      const answer = await send(`${base}/me`, { headers: { cookie: value } });
      expect(answer.status).toBe(401);
      expect(answer.json()).toEqual({ error: { code: 'ERR_SESSION_REQUIRED', message: expect.any(String) } });
    }
    expect(counting.reads()).toBe(reads);
    expect(counting.writes()).toBe(writes);
  });

  it('CSRF: token from header or form field, Origin checked', async () => {
    const { cookie, csrf } = await login();
    const json = { cookie, 'content-type': 'application/json' };
    const body = JSON.stringify({ theme: 'dark' });
    expect((await send(`${base}/prefs`, { method: 'POST', headers: json, body })).json().error?.code).toBe(
      'ERR_CSRF_TOKEN_INVALID',
    );
    const foreign = await send(`${base}/prefs`, {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': csrf, origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error?.code).toBe('ERR_CSRF_ORIGIN_MISMATCH');
    expect(
      (await send(`${base}/prefs`, { method: 'POST', headers: { ...json, 'x-csrf-token': csrf }, body }))
        .status,
    ).toBe(200);
    const form = await send(`${base}/prefs`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ _csrf: csrf, theme: 'light' }).toString(),
    });
    expect(form.json().data).toEqual({ role: 'user', theme: 'light' });
  });

  it('answers any other error a handler throws as a bare 500 in the one JSON shape', async () => {
    const answer = await send(`${base}/broken`);
    expect(answer.status).toBe(500);
    expect(answer.json()).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(answer.text).not.toContain('10.1.2.3');
  });

  it('logout removes the session and clears the cookie', async () => {
    const { cookie, csrf } = await login();
    const out = await send(`${base}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect(out.headers['clear-site-data']).toBe('"cookies"');
    expect(out.setCookie).toContain('Max-Age=0');
    expect((await send(`${base}/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('a store outage is 503 ERR_SESSION_STORE_UNAVAILABLE as JSON', async () => {
    const store = new MemoryStore();
    const manager = createSessionManager<SessionData>({ store });
    const { base: url, server: other } = await listenExpress(buildExpressApp(manager));
    try {
      const { id } = await manager.create('alice', {});
      await store.close();
      const answer = await send(`${url}/me`, { headers: { cookie: `__Host-tessera-sid=${id}` } });
      expect(answer.status).toBe(503);
      expect(answer.json()).toEqual({
        error: { code: 'ERR_SESSION_STORE_UNAVAILABLE', message: expect.any(String) },
      });
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
