import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, reports, shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { signLogoutToken } from '../src/lib/backchannel-logout.js';
import type { Client } from '../src/store/client.js';

// docs/security.md A1-7, 16-22 and B 35-51, each as real HTTP against the listening service.

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const REPORTS_REDIRECT = 'https://reports.example.com/callback';
const REPORTS_SECRET = reports.client_secret as string;
const twoUris = {
  client_id: 'two-uris',
  redirect_uris: ['https://a.example.com/cb', 'https://b.example.com/cb'],
  grant_types: ['authorization_code' as const],
  scopes: ['openid'],
  audiences: ['orders'],
  first_party: true,
};
const other = { ...shopWeb, client_id: 'other-web', redirect_uris: [REDIRECT] };

const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

describe.each(databases)('authorization, login, consent, code and refresh cases on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let offsetMs = 0;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      clients: [
        shopWeb,
        { ...reports, grant_types: ['authorization_code', 'refresh_token'] },
        twoUris,
        other,
      ],
      now: () => Date.now() + offsetMs,
    });
    await addAlice(harness.service);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  function authorizeUrl(params: Record<string, string | undefined>, extra = ''): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== undefined) search.append(name, value);
    return `${harness.url}/authorize?${search.toString()}${extra}`;
  }

  function baseParams(verifier: string, overrides: Record<string, string | undefined> = {}) {
    return {
      client_id: 'shop-web',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid profile orders:read',
      code_challenge: challengeOf(verifier),
      code_challenge_method: 'S256',
      state: 'st-1',
      nonce: 'n-1',
      ...overrides,
    };
  }

  const newVerifier = () => randomBytes(32).toString('base64url');

  async function codeFor(browser = new Browser(), overrides: Record<string, string | undefined> = {}) {
    const verifier = newVerifier();
    const { location } = await signIn(
      browser,
      authorizeUrl(baseParams(verifier, overrides)),
      'alice',
      ALICE_PASSWORD,
    );
    return { code: location.searchParams.get('code') as string, verifier, browser, location };
  }

  function token(fields: Record<string, string>, authorization?: string) {
    return fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: new URLSearchParams(fields).toString(),
    });
  }

  const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    token({
      grant_type: 'authorization_code',
      client_id: 'shop-web',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      ...extra,
    });

  async function errorOf(response: Response): Promise<string> {
    return ((await response.json()) as { error: string }).error;
  }

  async function tokensFor(): Promise<{ access_token: string; refresh_token: string; id_token: string }> {
    const { code, verifier } = await codeFor();
    const response = await redeem(code, verifier);
    expect(response.status).toBe(200);
    return response.json() as Promise<{ access_token: string; refresh_token: string; id_token: string }>;
  }

  const userinfoStatus = async (accessToken: string) =>
    (await fetch(`${harness.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

  describe('A. token endpoint', () => {
    it('1: a code redeemed twice -> invalid_grant, and the first tokens are revoked', async () => {
      const { code, verifier } = await codeFor();
      const first = await redeem(code, verifier);
      expect(first.status).toBe(200);
      const tokens = (await first.json()) as { access_token: string; refresh_token: string };
      expect(await userinfoStatus(tokens.access_token)).toBe(200);
      const second = await redeem(code, verifier);
      expect(second.status).toBe(400);
      expect(await errorOf(second)).toBe('invalid_grant');
      expect(await userinfoStatus(tokens.access_token)).toBe(401);
      const refresh = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: tokens.refresh_token,
      });
      expect(await errorOf(refresh)).toBe('invalid_grant');
    });

    it('1: concurrent redemptions -> exactly one 200', async () => {
      const { code, verifier } = await codeFor();
      const answers = await Promise.all([
        redeem(code, verifier),
        redeem(code, verifier),
        redeem(code, verifier),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
    });

    it('2: an expired code (60 s) -> invalid_grant', async () => {
      const { code, verifier } = await codeFor();
      offsetMs += 61_000;
      try {
        expect(await errorOf(await redeem(code, verifier))).toBe('invalid_grant');
      } finally {
        offsetMs -= 61_000;
      }
    });

    it('3: a code of client A redeemed by client B -> invalid_grant', async () => {
      const { code, verifier } = await codeFor();
      const response = await token({
        grant_type: 'authorization_code',
        client_id: 'other-web',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
      });
      expect(await errorOf(response)).toBe('invalid_grant');
    });

    it('4: redirect_uri missing or different at /token -> invalid_grant', async () => {
      const a = await codeFor();
      expect(
        await errorOf(
          await token({
            grant_type: 'authorization_code',
            client_id: 'shop-web',
            code: a.code,
            code_verifier: a.verifier,
          }),
        ),
      ).toBe('invalid_grant');
      const b = await codeFor();
      expect(
        await errorOf(await redeem(b.code, b.verifier, { redirect_uri: 'http://127.0.0.1:8080/auth/other' })),
      ).toBe('invalid_grant');
    });

    it('5: code_verifier missing or wrong -> invalid_grant', async () => {
      const a = await codeFor();
      expect(
        await errorOf(
          await token({
            grant_type: 'authorization_code',
            client_id: 'shop-web',
            code: a.code,
            redirect_uri: REDIRECT,
          }),
        ),
      ).toBe('invalid_grant');
      const b = await codeFor();
      expect(await errorOf(await redeem(b.code, newVerifier()))).toBe('invalid_grant');
    });

    it('6: a code_verifier for a code issued without a challenge -> invalid_grant', async () => {
      // /authorize never issues such a code; one is written directly to prove the token endpoint's rule.
      const { context } = harness;
      const users = await context.users.findByUsername('alice');
      const grant = await context.grants.create({
        userId: users?.id as string,
        clientId: 'shop-web',
        scopes: ['openid'],
        audiences: ['orders'],
        sid: undefined,
        authTime: Math.floor(Date.now() / 1000),
        expiresAt: Date.now() + 3_600_000,
      });
      const code = await context.codes.create({
        grantId: grant.id,
        clientId: 'shop-web',
        redirectUri: REDIRECT,
        codeChallenge: undefined,
        nonce: undefined,
        expiresAt: Date.now() + 60_000,
      });
      expect(await errorOf(await redeem(code, newVerifier()))).toBe('invalid_grant');
    });

    it('7: a code_verifier too short, too long or outside the charset -> invalid_request', async () => {
      const { code, verifier } = await codeFor();
      for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}!`]) {
        expect(await errorOf(await redeem(code, bad))).toBe('invalid_request');
      }
      // The malformed verifiers did not burn the code.
      expect((await redeem(code, verifier)).status).toBe(200);
    });

    it('16: code and refresh responses carry Cache-Control: no-store and Pragma: no-cache', async () => {
      const { code, verifier } = await codeFor();
      const response = await redeem(code, verifier);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('pragma')).toBe('no-cache');
      const { refresh_token } = (await response.json()) as { refresh_token: string };
      const refreshed = await token({ grant_type: 'refresh_token', client_id: 'shop-web', refresh_token });
      expect(refreshed.headers.get('cache-control')).toBe('no-store');
    });

    it('17: errors are JSON with a 5.2 code', async () => {
      const response = await redeem('not-a-code', newVerifier());
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as { error: string; error_description?: string };
      expect(body.error).toBe('invalid_grant');
      expect(body.error_description ?? '').toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
    });

    it("18: client 2 presenting client 1's refresh token -> invalid_grant; the owner's token still works", async () => {
      const tokens = await tokensFor();
      const stolen = await token({
        grant_type: 'refresh_token',
        client_id: 'other-web',
        refresh_token: tokens.refresh_token,
      });
      expect(await errorOf(stolen)).toBe('invalid_grant');
      const own = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: tokens.refresh_token,
      });
      expect(own.status).toBe(200);
    });

    it('19: more scope than granted -> invalid_scope; a narrower scope is allowed', async () => {
      const tokens = await tokensFor();
      const wider = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: tokens.refresh_token,
        scope: 'openid email',
      });
      expect(await errorOf(wider)).toBe('invalid_scope');
      const narrower = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: tokens.refresh_token,
        scope: 'orders:read',
      });
      expect(narrower.status).toBe(200);
      const body = (await narrower.json()) as { scope: string; id_token?: string };
      expect(body.scope).toBe('orders:read');
      expect(body.id_token).toBeUndefined();
    });

    it('20: a rotated refresh token replayed -> invalid_grant and the whole family revoked', async () => {
      const tokens = await tokensFor();
      const first = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: tokens.refresh_token,
      });
      const next = (await first.json()) as { refresh_token: string; access_token: string };
      const replay = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: tokens.refresh_token,
      });
      expect(await errorOf(replay)).toBe('invalid_grant');
      const successor = await token({
        grant_type: 'refresh_token',
        client_id: 'shop-web',
        refresh_token: next.refresh_token,
      });
      expect(await errorOf(successor)).toBe('invalid_grant');
      expect(await userinfoStatus(next.access_token)).toBe(401);
    });

    it('21: the same refresh token twice at once -> exactly one 200', async () => {
      const tokens = await tokensFor();
      const send = () =>
        token({ grant_type: 'refresh_token', client_id: 'shop-web', refresh_token: tokens.refresh_token });
      const answers = await Promise.all([send(), send()]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
    });

    it('22: past the idle or the absolute lifetime -> invalid_grant', async () => {
      const idle = await tokensFor();
      offsetMs += 14 * 86_400_000 + 1000;
      try {
        const response = await token({
          grant_type: 'refresh_token',
          client_id: 'shop-web',
          refresh_token: idle.refresh_token,
        });
        expect(await errorOf(response)).toBe('invalid_grant');
      } finally {
        offsetMs -= 14 * 86_400_000 + 1000;
      }
      // Kept alive by use every 10 days, the family still ends after 30.
      let current = (await tokensFor()).refresh_token;
      const start = offsetMs;
      try {
        for (let day = 10; day <= 30; day += 10) {
          offsetMs = start + day * 86_400_000 - (day === 30 ? 0 : 1000);
          const response = await token({
            grant_type: 'refresh_token',
            client_id: 'shop-web',
            refresh_token: current,
          });
          if (day < 30) {
            expect(response.status).toBe(200);
            current = ((await response.json()) as { refresh_token: string }).refresh_token;
          } else {
            expect(await errorOf(response)).toBe('invalid_grant');
          }
        }
      } finally {
        offsetMs = start;
      }
    });
  });

  describe('B. authorization endpoint, login, consent, logout', () => {
    async function errorPage(url: string) {
      const response = await new Browser().fetch(url);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      return response;
    }

    async function redirectError(url: string): Promise<URLSearchParams> {
      const response = await new Browser().fetch(url);
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location') as string);
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get('iss')).toBe(harness.url);
      return location.searchParams;
    }

    it('35, 36: an unregistered or near-miss redirect_uri -> error page, never a redirect', async () => {
      const v = newVerifier();
      for (const uri of [
        'https://evil.example/cb',
        `${REDIRECT}?x=1`,
        `${REDIRECT}/more`,
        'http://127.0.0.1:8080/AUTH/callback',
        'https://127.0.0.1:8080/auth/callback',
      ]) {
        await errorPage(authorizeUrl(baseParams(v, { redirect_uri: uri })));
      }
    });

    it('37: a loopback redirect may use another port; the path must still match', async () => {
      const v = newVerifier();
      const response = await new Browser().fetch(
        authorizeUrl(baseParams(v, { redirect_uri: 'http://127.0.0.1:53111/auth/callback' })),
      );
      expect(response.status).toBe(200);
      await errorPage(authorizeUrl(baseParams(v, { redirect_uri: 'http://127.0.0.1:53111/auth/other' })));
    });

    it('38: redirect_uri omitted with several registered, client_id missing or unknown -> error page', async () => {
      const v = newVerifier();
      await errorPage(authorizeUrl(baseParams(v, { client_id: 'two-uris', redirect_uri: undefined })));
      await errorPage(authorizeUrl(baseParams(v, { client_id: undefined })));
      await errorPage(authorizeUrl(baseParams(v, { client_id: 'nobody' })));
      // With exactly one registered, it may be omitted.
      expect(
        (await new Browser().fetch(authorizeUrl(baseParams(v, { redirect_uri: undefined })))).status,
      ).toBe(200);
    });

    it('39: response_type missing -> invalid_request; token or hybrid -> unsupported_response_type', async () => {
      const v = newVerifier();
      expect(
        (await redirectError(authorizeUrl(baseParams(v, { response_type: undefined })))).get('error'),
      ).toBe('invalid_request');
      for (const type of ['token', 'code id_token', 'code token', 'id_token']) {
        const params = await redirectError(authorizeUrl(baseParams(v, { response_type: type })));
        expect(params.get('error')).toBe('unsupported_response_type');
        expect(params.get('state')).toBe('st-1');
      }
    });

    it('40, 41: PKCE missing, plain, unknown, or a malformed challenge -> invalid_request with state', async () => {
      const v = newVerifier();
      for (const overrides of [
        { code_challenge: undefined },
        { code_challenge_method: 'plain' },
        { code_challenge_method: undefined },
        { code_challenge_method: 'S512' },
        { code_challenge: 'short' },
        { code_challenge: `${'a'.repeat(42)}=` },
        { code_challenge: 'a'.repeat(44) },
      ]) {
        const params = await redirectError(authorizeUrl(baseParams(v, overrides)));
        expect(params.get('error')).toBe('invalid_request');
        expect(params.get('state')).toBe('st-1');
      }
    });

    it('42: a duplicated parameter -> invalid_request', async () => {
      const params = await redirectError(authorizeUrl(baseParams(newVerifier()), '&scope=openid'));
      expect(params.get('error')).toBe('invalid_request');
    });

    it('43: an unknown parameter, scopes in another order, or POST -> succeeds', async () => {
      const v = newVerifier();
      const browser = new Browser();
      const { location } = await signIn(
        browser,
        authorizeUrl(baseParams(v, { scope: 'orders:read profile openid', foo: 'bar' })),
        'alice',
        ALICE_PASSWORD,
      );
      expect(location.searchParams.get('code')).not.toBeNull();
      const posted = await browser.fetch(`${harness.url}/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(baseParams(v)).toString(),
      });
      expect(posted.status).toBe(303);
      expect(new URL(posted.headers.get('location') as string).searchParams.get('code')).not.toBeNull();
    });

    it('44: prompt=none without a session -> login_required; prompt=login and max_age move auth_time', async () => {
      const v = newVerifier();
      expect((await redirectError(authorizeUrl(baseParams(v, { prompt: 'none' })))).get('error')).toBe(
        'login_required',
      );
      const authTimeOf = async (code: string, verifier: string) => {
        const body = (await (await redeem(code, verifier)).json()) as { id_token: string };
        return JSON.parse(Buffer.from(body.id_token.split('.')[1] as string, 'base64url').toString())
          .auth_time as number;
      };
      const first = await codeFor();
      const t1 = await authTimeOf(first.code, first.verifier);
      offsetMs += 5000;
      try {
        // With the session, prompt=login still shows the form.
        const second = await codeFor(first.browser, { prompt: 'login' });
        const t2 = await authTimeOf(second.code, second.verifier);
        expect(t2).toBeGreaterThan(t1);
        offsetMs += 5000;
        const third = await codeFor(first.browser, { max_age: '1' });
        expect(await authTimeOf(third.code, third.verifier)).toBeGreaterThan(t2);
      } finally {
        offsetMs -= 10_000;
      }
    });

    it('45: a long state and nonce come back intact; beyond 4096 characters -> invalid_request', async () => {
      const state = 's'.repeat(4096);
      const nonce = 'n'.repeat(4096);
      const { location, verifier } = await (async () => {
        const result = await codeFor(new Browser(), { state, nonce });
        return result;
      })();
      expect(location.searchParams.get('state')).toBe(state);
      const body = (await (await redeem(location.searchParams.get('code') as string, verifier)).json()) as {
        id_token: string;
      };
      expect(
        JSON.parse(Buffer.from(body.id_token.split('.')[1] as string, 'base64url').toString()).nonce,
      ).toBe(nonce);
      const params = await redirectError(
        authorizeUrl(baseParams(newVerifier(), { state: 's'.repeat(4097) })),
      );
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('state')).toBeNull();
    });

    it('46: request and request_uri -> request_not_supported / request_uri_not_supported', async () => {
      const v = newVerifier();
      expect((await redirectError(authorizeUrl(baseParams(v, { request: 'eyJ.eyJ.' })))).get('error')).toBe(
        'request_not_supported',
      );
      expect(
        (await redirectError(authorizeUrl(baseParams(v, { request_uri: 'https://x.example/r' })))).get(
          'error',
        ),
      ).toBe('request_uri_not_supported');
    });

    it('47, 49: the redirect after a credential POST is 303; cancel -> access_denied with state', async () => {
      const { response } = await signIn(
        new Browser(),
        authorizeUrl(baseParams(newVerifier())),
        'alice',
        ALICE_PASSWORD,
      );
      expect(response.status).toBe(303);
      const browser = new Browser();
      const page = await browser.fetch(authorizeUrl(baseParams(newVerifier())));
      const { action, fields } = parseForm(await page.text());
      const cancelled = await browser.post(harness.url, action, { ...fields, action: 'cancel' });
      expect(cancelled.status).toBe(303);
      const params = new URL(cancelled.headers.get('location') as string).searchParams;
      expect(params.get('error')).toBe('access_denied');
      expect(params.get('state')).toBe('st-1');
    });

    it('48: login and consent pages refuse framing; no CORS on /authorize', async () => {
      const browser = new Browser();
      const page = await browser.fetch(
        authorizeUrl({
          ...baseParams(newVerifier()),
          client_id: 'reports',
          redirect_uri: REPORTS_REDIRECT,
          scope: 'openid',
        }),
        { headers: { origin: 'https://evil.example' } },
      );
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('access-control-allow-origin')).toBeNull();
      const { action, fields } = parseForm(await page.text());
      const consent = await browser.post(harness.url, action, {
        ...fields,
        username: 'alice',
        password: ALICE_PASSWORD,
        action: 'login',
      });
      expect(consent.status).toBe(200);
      const html = await consent.text();
      expect(html).toContain('Allow access');
      expect(consent.headers.get('x-frame-options')).toBe('DENY');
      expect(consent.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      // Approving ends at the client with a code the confidential client redeems.
      const form = parseForm(html);
      const approved = await browser.post(harness.url, form.action, { ...form.fields, action: 'approve' });
      expect(approved.status).toBe(303);
      const location = new URL(approved.headers.get('location') as string);
      expect(location.origin).toBe('https://reports.example.com');
      const preflight = await fetch(`${harness.url}/authorize`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('50: a login or consent POST without its CSRF token or cookie is refused; return_to is ignored', async () => {
      const browser = new Browser();
      const page = await browser.fetch(authorizeUrl(baseParams(newVerifier())));
      const { action, fields } = parseForm(await page.text());
      const credentials = { username: 'alice', password: ALICE_PASSWORD, action: 'login' };
      const noToken = await browser.post(harness.url, action, {
        interaction: fields.interaction as string,
        ...credentials,
      });
      expect(noToken.status).toBe(403);
      expect(noToken.headers.get('location')).toBeNull();
      // The right token from another browser (no interaction cookie): refused too.
      const elsewhere = await new Browser().post(harness.url, action, { ...fields, ...credentials });
      expect(elsewhere.status).toBe(403);
      const withReturn = await browser.post(harness.url, action, {
        ...fields,
        ...credentials,
        return_to: 'https://evil.example/',
      });
      expect(withReturn.status).toBe(303);
      expect(new URL(withReturn.headers.get('location') as string).origin).toBe('http://127.0.0.1:8080');
    });

    it('wrong password: one message, 401; rate limit: 429 with Retry-After', async () => {
      const browser = new Browser();
      const page = await browser.fetch(authorizeUrl(baseParams(newVerifier())));
      const { action, fields } = parseForm(await page.text());
      const unknownUser = await browser.post(harness.url, action, {
        ...fields,
        username: 'mallory',
        password: 'x',
        action: 'login',
      });
      expect(unknownUser.status).toBe(401);
      const unknownText = await unknownUser.text();
      expect(unknownText).toContain('invalid username or password');
      const wrong = await browser.post(harness.url, action, {
        ...fields,
        username: 'bob<script>',
        password: 'x',
        action: 'login',
      });
      const wrongText = await wrong.text();
      expect(wrongText).not.toContain('<script>');
      let last = wrong;
      for (let i = 0; i < 6 && last.status !== 429; i++) {
        last = await browser.post(harness.url, action, {
          ...fields,
          username: 'carol',
          password: 'x',
          action: 'login',
        });
      }
      expect(last.status).toBe(429);
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await last.text()).toContain('Try again in');
    });

    it('51: forged, alg none or modified id_token_hint, unregistered post_logout_redirect_uri -> no redirect', async () => {
      const tokens = await tokensFor();
      const [header, payload, signature] = tokens.id_token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const modified = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${signature}`;
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
      const forged = `${header}.${payload}.${randomBytes(256).toString('base64url')}`;
      // Signed by this very service, for this client and user, but a logout token, not an ID token.
      const logoutToken = signLogoutToken({
        keys: harness.service.keys.keySet,
        client: (await harness.service.clients.find('shop-web')) as Client,
        issuer: harness.url,
        now: Date.now(),
        sub: claims.sub as string,
        sid: claims.sid as string | undefined,
      });
      for (const hint of [modified, none, forged]) {
        const url = `${harness.url}/logout?${new URLSearchParams({ id_token_hint: hint, post_logout_redirect_uri: REDIRECT, state: 'x' })}`;
        const response = await new Browser().fetch(url);
        expect(response.status).toBe(400);
        expect(response.headers.get('location')).toBeNull();
      }
      // No redirect asked for: a valid hint would end the session and answer 200.
      const asHint = await new Browser().fetch(
        `${harness.url}/logout?${new URLSearchParams({ id_token_hint: logoutToken })}`,
      );
      expect(asHint.status).toBe(400);
      expect(await asHint.text()).toContain('id_token_hint is not a valid ID token');
      const unregistered = await new Browser().fetch(
        `${harness.url}/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/' })}`,
      );
      expect(unregistered.status).toBe(400);
      expect(unregistered.headers.get('location')).toBeNull();
    });

    it('a confidential client redeems with client_secret_basic; a missing secret is 401', async () => {
      const browser = new Browser();
      const verifier = newVerifier();
      const url = authorizeUrl({
        ...baseParams(verifier),
        client_id: 'reports',
        redirect_uri: REPORTS_REDIRECT,
        scope: 'openid',
      });
      const page = await browser.fetch(url);
      const login = parseForm(await page.text());
      const consentPage = await browser.post(harness.url, login.action, {
        ...login.fields,
        username: 'alice',
        password: ALICE_PASSWORD,
        action: 'login',
      });
      const consent = parseForm(await consentPage.text());
      const approved = await browser.post(harness.url, consent.action, {
        ...consent.fields,
        action: 'approve',
      });
      const code = new URL(approved.headers.get('location') as string).searchParams.get('code') as string;
      const fields = {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REPORTS_REDIRECT,
      };
      expect((await token({ ...fields, client_id: 'reports' })).status).toBe(401);
      const ok = await token(fields, basic('reports', REPORTS_SECRET));
      expect(ok.status).toBe(200);
    });
  });
});
