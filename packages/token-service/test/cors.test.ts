import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { validateRegistration } from '../src/store/client-registration.js';

// CORS for a browser application: a public client registered with the web origin its page runs
// at. Only that origin is answered with CORS headers, on the endpoints such a page calls.

const PAGE = 'http://127.0.0.1:8080';
const REDIRECT = `${PAGE}/_tessera/callback`;
const OTHER = 'http://127.0.0.1:8081';
const browserApp = { ...shopWeb, redirect_uris: [REDIRECT], allowed_origins: [PAGE] };

/** Every CORS response header of an answer, by name. */
function corsHeaders(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')));
}

function preflight(
  url: string,
  origin: string,
  method = 'POST',
  headers = 'content-type',
): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': headers,
    },
  });
}

describe.each(databases)('CORS for registered web origins on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clients: [browserApp] });
    await addAlice(harness.service);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  /** A code for the browser app, PKCE S256, signed in as alice. */
  async function code(): Promise<{ code: string; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL('/authorize', harness.url);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'shop-web',
      redirect_uri: REDIRECT,
      scope: 'openid orders:read',
      state: 'st',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    const value = location.searchParams.get('code');
    if (value === null) throw new Error(`no code in ${location.href}`);
    return { code: value, verifier };
  }

  async function redeem(origin: string): Promise<Response> {
    const { code: value, verifier } = await code();
    return fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: value,
        redirect_uri: REDIRECT,
        client_id: 'shop-web',
        code_verifier: verifier,
      }).toString(),
    });
  }

  it('answers a preflight from a registered origin, never allowing credentials', async () => {
    for (const path of ['/token', '/revoke', '/userinfo']) {
      const response = await preflight(`${harness.url}${path}`, PAGE, 'POST', 'authorization, content-type');
      expect(response.status).toBe(204);
      expect(response.headers.get('vary')).toBe('Origin');
      expect(corsHeaders(response)).toEqual({
        'access-control-allow-origin': PAGE,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type, dpop',
        'access-control-expose-headers': 'www-authenticate, dpop-nonce',
        'access-control-max-age': '600',
      });
    }
  });

  it('lets a registered origin read the code exchange, userinfo, revocation, discovery and keys', async () => {
    const token = await redeem(PAGE);
    expect(token.status).toBe(200);
    expect(token.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(token.headers.get('vary')).toBe('Origin');
    expect(token.headers.get('access-control-allow-credentials')).toBeNull();
    const { access_token: accessToken } = (await token.json()) as { access_token: string };

    const userinfo = await fetch(`${harness.url}/userinfo`, {
      headers: { origin: PAGE, authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(200);
    expect(userinfo.headers.get('access-control-allow-origin')).toBe(PAGE);

    for (const path of [
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
      '/jwks',
    ]) {
      const response = await fetch(`${harness.url}${path}`, { headers: { origin: PAGE } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(PAGE);
      // Cacheable answers that differ by origin must say so, or a cache hands one origin's to another.
      expect(response.headers.get('vary')).toBe('Origin');
    }

    const revoked = await fetch(`${harness.url}/revoke`, {
      method: 'POST',
      headers: { origin: PAGE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken, client_id: 'shop-web' }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect(revoked.headers.get('access-control-allow-origin')).toBe(PAGE);

    // An error is readable too (the page shows its reason), with the header that carries it exposed.
    const refused = await fetch(`${harness.url}/userinfo`, {
      headers: { origin: PAGE, authorization: `Bearer ${accessToken}` },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(refused.headers.get('access-control-expose-headers')).toBe('www-authenticate, dpop-nonce');
  });

  it('gives any other origin no CORS header at all, preflight included', async () => {
    for (const origin of [OTHER, 'null', `${PAGE}/`, 'http://localhost:8080', 'https://127.0.0.1:8080']) {
      const pre = await preflight(`${harness.url}/token`, origin);
      expect(pre.status).toBe(405);
      expect(corsHeaders(pre)).toEqual({});
      for (const path of ['/.well-known/openid-configuration', '/jwks']) {
        expect(corsHeaders(await fetch(`${harness.url}${path}`, { headers: { origin } }))).toEqual({});
      }
    }
    const token = await redeem(OTHER);
    // The request is served as it would be from curl; only a page at OTHER cannot read it.
    expect(token.status).toBe(200);
    expect(corsHeaders(token)).toEqual({});
    // The browser pages (login, logout) and the back-office endpoints are never cross-origin.
    for (const path of ['/authorize', '/introspect', '/logout']) {
      expect(corsHeaders(await preflight(`${harness.url}${path}`, PAGE))).toEqual({});
    }
  });

  it('follows registrations as they change', async () => {
    const later = 'https://shop.example';
    expect(corsHeaders(await preflight(`${harness.url}/token`, later))).toEqual({});
    await harness.service.clients.upsert({ ...browserApp, allowed_origins: [PAGE, later] });
    expect((await preflight(`${harness.url}/token`, later)).headers.get('access-control-allow-origin')).toBe(
      later,
    );
    await harness.service.clients.upsert(browserApp);
    expect(corsHeaders(await preflight(`${harness.url}/token`, later))).toEqual({});
  });
});

describe('allowed_origins in a registration', () => {
  const register = (allowed_origins: string[]) => () =>
    validateRegistration({ ...browserApp, allowed_origins });

  it('takes exact https origins and loopback http ones', () => {
    expect(
      register(['https://shop.example', 'https://shop.example:8443', PAGE, 'http://[::1]:3000'])(),
    ).toMatchObject({
      allowed_origins: ['https://shop.example', 'https://shop.example:8443', PAGE, 'http://[::1]:3000'],
    });
    expect(validateRegistration(shopWeb).allowed_origins).toEqual([]);
  });

  it('refuses wildcards, paths, non-canonical spellings and plain http elsewhere', () => {
    const cases: [string, RegExp][] = [
      ['*', /wildcard/],
      ['https://*.shop.example', /wildcard/],
      ['https://shop.example/', /write "https:\/\/shop.example"/],
      ['https://shop.example/app', /not an exact origin/],
      ['https://Shop.example', /not an exact origin/],
      ['https://shop.example:443', /not an exact origin/],
      ['null', /not an origin/],
      ['shop.example', /not an origin/],
      ['file:///tmp', /not an origin/],
      ['http://shop.example', /https, or http on a loopback host/],
    ];
    for (const [origin, reason] of cases) {
      expect(register([origin])).toThrowError(reason);
      expect(register([origin])).toThrowError(/^client shop-web: allowed origin/);
    }
  });
});
