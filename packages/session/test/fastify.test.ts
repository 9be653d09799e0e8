import { MemoryStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessionErrorCodes } from '../src/errors.js';
import { hashSessionId } from '../src/lib/ids.js';
import { createSessionManager, type SessionData, type SessionManager } from '../src/manager.js';
import { buildFastifyApp, listen } from './support/fastify-app.js';
import { type Answer, cookiePair, jsonBody, send } from './support/http.js';
import { countingStore, manualClock } from './support/stores.js';

const minute = 60_000;

describe('Fastify plugin over real HTTP (docs/security.md E, E81, E124)', () => {
  const clock = manualClock();
  const memory = new MemoryStore({ now: clock.now });
  const counting = countingStore(memory);
  let manager: SessionManager<SessionData>;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    manager = createSessionManager({ store: counting.store, now: clock.now });
    app = await buildFastifyApp(manager);
    base = await listen(app);
  });
  afterAll(async () => {
    await app.close();
    await memory.close();
  });
  beforeEach(() => {
    clock.advance(13 * 60 * minute); // every test starts after every earlier session has expired
  });

  async function login(
    userId = 'alice',
    cookie?: string,
  ): Promise<{ cookie: string; csrf: string; answer: Answer }> {
    const { headers, body } = jsonBody({ userId });
    const answer = await send(`${base}/login`, {
      method: 'POST',
      headers: { ...headers, ...(cookie === undefined ? {} : { cookie }) },
      body,
    });
    expect(answer.status).toBe(200);
    return { cookie: cookiePair(answer.setCookie), csrf: String(answer.json().csrfToken), answer };
  }

  function expectAnonymous(answer: Answer): void {
    expect(answer.status).toBe(401);
    expect(answer.json()).toEqual({
      error: { code: 'ERR_SESSION_REQUIRED', message: sessionErrorCodes.ERR_SESSION_REQUIRED.meaning },
    });
  }

  it('80: the cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, under 4096 bytes', async () => {
    const { answer } = await login();
    const cookie = answer.setCookie ?? '';
    expect(cookie).toMatch(/^__Host-tessera-sid=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; SameSite=Lax');
    expect(cookie).toContain('; Path=/');
    expect(cookie).toContain(`; Max-Age=${12 * 3600}`);
    expect(cookie.toLowerCase()).not.toContain('domain=');
    expect(Buffer.byteLength(cookie)).toBeLessThan(4096);
  });

  it('83: a response that sets the cookie is not cacheable; logout clears it with Clear-Site-Data', async () => {
    const { cookie, csrf, answer } = await login();
    expect(answer.headers['cache-control']).toBe('no-store');
    const out = await send(`${base}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect(out.headers['clear-site-data']).toBe('"cookies"');
    expect(out.headers['cache-control']).toBe('no-store');
    expect(out.setCookie).toMatch(
      /^__Host-tessera-sid=; Path=\/; Max-Age=0; HttpOnly; Secure; SameSite=Lax$/,
    );
    expectAnonymous(await send(`${base}/me`, { headers: { cookie } }));
  });

  it('77: an id the server never issued is ignored, and login issues a new one', async () => {
    const forged = `__Host-tessera-sid=${Buffer.alloc(32, 1).toString('base64url')}`;
    expectAnonymous(await send(`${base}/me`, { headers: { cookie: forged } }));
    const { cookie } = await login('alice', forged);
    expect(cookie).not.toBe(forged);
    expect((await send(`${base}/me`, { headers: { cookie } })).json().userId).toBe('alice');
  });

  it('77: login with a live session ends it and changes the id (fixation)', async () => {
    const first = await login('alice');
    const second = await login('alice', first.cookie);
    expect(second.cookie).not.toBe(first.cookie);
    expectAnonymous(await send(`${base}/me`, { headers: { cookie: first.cookie } }));
    expect((await send(`${base}/me`, { headers: { cookie: second.cookie } })).status).toBe(200);
  });

  it('77: a privilege change rotates the id', async () => {
    const { cookie, csrf } = await login();
    const answer = await send(`${base}/elevate`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(answer.status).toBe(200);
    const rotated = cookiePair(answer.setCookie);
    expect(rotated).not.toBe(cookie);
    expectAnonymous(await send(`${base}/me`, { headers: { cookie } }));
    expect((await send(`${base}/me`, { headers: { cookie: rotated } })).status).toBe(200);
  });

  it('79: idle and absolute timeouts are enforced by the server', async () => {
    const idle = await login();
    clock.advance(31 * minute);
    expectAnonymous(await send(`${base}/me`, { headers: { cookie: idle.cookie } }));

    const busy = await login();
    for (let i = 0; i < 12 * 3; i++) {
      clock.advance(20 * minute);
      const answer = await send(`${base}/me`, { headers: { cookie: busy.cookie } });
      expect(answer.status).toBe(i < 12 * 3 - 1 ? 200 : 401);
    }
  });

  it('81 and bad input: missing, malformed, oversized, forged, quoted, URL ids -> anonymous, no store write, nothing leaked', async () => {
    const { cookie } = await login();
    const id = cookie.split('=')[1] ?? '';
    const writes = counting.writes();
    const reads = counting.reads();
    const bad = [
      undefined,
      '',
      '__Host-tessera-sid=',
      '__Host-tessera-sid=abc',
      `__Host-tessera-sid="${id}"`,
      `__Host-tessera-sid=${id}x`,
      `__Host-tessera-sid=${'A'.repeat(4000)}`,
      `__Host-tessera-sid=${id.slice(0, 42)}%41`,
      `__Host-tessera-sid=${id.slice(0, 42)}B`, // non-canonical last character
      `tessera-sid=${id}`, // without the prefix
      `x__Host-tessera-sid=${id}`,
      '__Host-tessera-sid=../../etc/passwd; other=1',
    ];
    for (const value of bad) {
      const answer = await send(`${base}/me`, { headers: value === undefined ? {} : { cookie: value } });
      expectAnonymous(answer);
      expect(answer.text).not.toContain(id);
      expect(answer.text).not.toMatch(/stack|at \w+ \(/);
    }
    const inUrl = await send(`${base}/me?sid=${id}&__Host-tessera-sid=${id}`);
    expectAnonymous(inUrl);
    expect(counting.writes()).toBe(writes);
    expect(counting.reads()).toBe(reads); // none of them even reached the store
    // An unknown but well-formed id is read once and not written.
    expectAnonymous(
      await send(`${base}/me`, {
        headers: { cookie: `__Host-tessera-sid=${Buffer.alloc(32, 9).toString('base64url')}` },
      }),
    );
    expect(counting.writes()).toBe(writes);
  });

  it('cookie tossing: two cookies of our name make the request anonymous, even if one is valid', async () => {
    const { cookie } = await login('alice');
    const attacker = await login('mallory');
    for (const header of [
      `${cookie}; ${attacker.cookie}`,
      `${attacker.cookie}; ${cookie}`,
      `${cookie}; ${cookie}`,
    ]) {
      expectAnonymous(await send(`${base}/me`, { headers: { cookie: header } }));
    }
    // Other cookies around ours are fine.
    const answer = await send(`${base}/me`, { headers: { cookie: `a=1; ${cookie}; b=2` } });
    expect(answer.json().userId).toBe('alice');
  });

  it('an expired session is anonymous without a store write', async () => {
    const { cookie } = await login();
    clock.advance(31 * minute);
    const writes = counting.writes();
    expectAnonymous(await send(`${base}/me`, { headers: { cookie } }));
    expect(counting.writes()).toBe(writes);
  });

  it('CSRF: unsafe methods need the token (header or form field) and a matching Origin', async () => {
    const { cookie, csrf } = await login();
    const post = (headers: Record<string, string>, body = JSON.stringify({ theme: 'dark' })) =>
      send(`${base}/prefs`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body,
      });

    const missing = await post({});
    expect(missing.status).toBe(403);
    expect(missing.json().error?.code).toBe('ERR_CSRF_TOKEN_INVALID');
    const altered = `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`;
    expect((await post({ 'x-csrf-token': altered })).json().error?.code).toBe('ERR_CSRF_TOKEN_INVALID');
    const other = await login('bob');
    expect((await post({ 'x-csrf-token': other.csrf })).json().error?.code).toBe('ERR_CSRF_TOKEN_INVALID');

    const foreign = await post({ 'x-csrf-token': csrf, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error?.code).toBe('ERR_CSRF_ORIGIN_MISMATCH');
    expect((await post({ 'x-csrf-token': csrf, origin: 'null' })).json().error?.code).toBe(
      'ERR_CSRF_ORIGIN_MISMATCH',
    );
    expect((await post({ 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).json().error?.code).toBe(
      'ERR_CSRF_ORIGIN_MISMATCH',
    );

    expect((await post({ 'x-csrf-token': csrf })).status).toBe(200);
    expect((await post({ 'x-csrf-token': csrf, origin: base, 'sec-fetch-site': 'same-origin' })).status).toBe(
      200,
    );
    const form = await send(`${base}/prefs`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, theme: 'light' }).toString(),
    });
    expect(form.status).toBe(200);
    expect(form.json().data).toMatchObject({ theme: 'light' });
    // Safe methods and anonymous requests need no token.
    expect((await send(`${base}/me`, { headers: { cookie, origin: 'https://evil.example' } })).status).toBe(
      200,
    );
    expect((await send(`${base}/logout`, { method: 'POST' })).status).toBe(204);
  });

  it('answers any other error a handler throws as a bare 500 in the one JSON shape', async () => {
    const answer = await send(`${base}/broken`);
    expect(answer.status).toBe(500);
    expect(answer.json()).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(answer.text).not.toContain('10.1.2.3');
  });

  it('the checks reach routes of child contexts and automatic HEAD routes', async () => {
    const { cookie, csrf } = await login();
    expect((await send(`${base}/scoped/item`, { method: 'DELETE' })).status).toBe(401);
    const noToken = await send(`${base}/scoped/item`, { method: 'DELETE', headers: { cookie } });
    expect(noToken.status).toBe(403);
    expect(noToken.json().error?.code).toBe('ERR_CSRF_TOKEN_INVALID');
    const ok = await send(`${base}/scoped/item`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(ok.json()).toEqual({ deleted: true });
    expect((await send(`${base}/me`, { method: 'HEAD' })).status).toBe(401);
    expect((await send(`${base}/me`, { method: 'HEAD', headers: { cookie } })).status).toBe(200);
  });

  it('82: disabling an account ends all its sessions at once', async () => {
    const a = await login('carol');
    const b = await login('carol');
    const dave = await login('dave');
    const answer = await send(`${base}/admin/disable/carol`, { method: 'POST' });
    expect(answer.json()).toEqual({ ended: 2 });
    expectAnonymous(await send(`${base}/me`, { headers: { cookie: a.cookie } }));
    expectAnonymous(await send(`${base}/me`, { headers: { cookie: b.cookie } }));
    expect((await send(`${base}/me`, { headers: { cookie: dave.cookie } })).status).toBe(200);
    expect(await memory.get(`session:s:${hashSessionId(a.cookie.split('=')[1] ?? '')}`)).toBeNull();
  });

  it('concurrent requests of one session keep each other’s writes', async () => {
    const { cookie, csrf } = await login();
    const headers = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    const answers = await Promise.all([
      send(`${base}/prefs`, { method: 'POST', headers, body: JSON.stringify({ theme: 'dark' }) }),
      send(`${base}/prefs`, { method: 'POST', headers, body: JSON.stringify({ cart: ['book'] }) }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const me = await send(`${base}/me`, { headers: { cookie } });
    expect(me.json().data).toEqual({ role: 'user', theme: 'dark', cart: ['book'] });
  });
});

describe('insecureHttpLocalhost', () => {
  it('drops Secure and the __Host- prefix only for plain http to a loopback host, and warns', async () => {
    const store = new MemoryStore();
    const warnings: string[] = [];
    const manager = createSessionManager<SessionData>({
      store,
      cookie: { insecureHttpLocalhost: true },
      onWarning: (message) => warnings.push(message),
    });
    expect(warnings).toHaveLength(1);
    expect(manager.warnings).toEqual(warnings);
    const app = await buildFastifyApp(manager, { trustProxy: true });
    const base = await listen(app);
    try {
      const { headers, body } = jsonBody({ userId: 'dev' });
      for (const host of ['localhost:3000', '127.0.0.1', '[::1]:8080']) {
        const answer = await send(`${base}/login`, { method: 'POST', headers: { ...headers, host }, body });
        expect(answer.setCookie).toMatch(
          /^tessera-sid=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
        );
        const me = await send(`${base}/me`, { headers: { host, cookie: cookiePair(answer.setCookie) } });
        expect(me.status).toBe(200);
      }
      for (const extra of [{ host: 'app.example' }, { host: 'localhost', 'x-forwarded-proto': 'https' }]) {
        const answer = await send(`${base}/login`, {
          method: 'POST',
          headers: { ...headers, ...extra },
          body,
        });
        expect(answer.setCookie).toMatch(/^__Host-tessera-sid=.*; Secure; SameSite=Lax$/);
      }
    } finally {
      await app.close();
      await store.close();
    }
  });
});
