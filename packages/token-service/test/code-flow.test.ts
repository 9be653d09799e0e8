import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const LOGOUT_REDIRECT = 'http://127.0.0.1:8080/signed-out';

// openid-client 6 drives the whole browser flow (login form over fetch), on SQLite and PostgreSQL.
describe.each(databases)('authorization code flow with openid-client on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let aliceId: string;
  let config: oidc.Configuration;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      clients: [{ ...shopWeb, post_logout_redirect_uris: [LOGOUT_REDIRECT] }],
    });
    aliceId = await addAlice(harness.service);
    config = await oidc.discovery(new URL(harness.url), 'shop-web', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  async function start(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email orders:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    return { url, verifier, state, nonce };
  }

  it('discovery lists the endpoints and grants that are built', () => {
    const metadata = config.serverMetadata();
    expect(metadata.authorization_endpoint).toBe(`${harness.url}/authorize`);
    expect(metadata.userinfo_endpoint).toBe(`${harness.url}/userinfo`);
    expect(metadata.end_session_endpoint).toBe(`${harness.url}/logout`);
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
  });

  it('signs in, redeems the code, refreshes, reads userinfo and logs out', async () => {
    const browser = new Browser();
    const { url, verifier, state, nonce } = await start();
    const { location, response } = await signIn(browser, url, 'alice', ALICE_PASSWORD);
    expect(response.status).toBe(303);
    expect(location.searchParams.get('iss')).toBe(harness.url);
    const tokens = await oidc.authorizationCodeGrant(config, location, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    expect(claims?.sub).toBe(aliceId);
    expect(claims?.aud).toBe('shop-web');
    expect(claims?.nonce).toBe(nonce);
    expect(claims?.email).toBe('alice@example.com');
    expect(typeof claims?.auth_time).toBe('number');
    expect(typeof claims?.sid).toBe('string');
    expect(typeof claims?.at_hash).toBe('string');
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const header = JSON.parse(
      Buffer.from((tokens.id_token as string).split('.')[0] as string, 'base64url').toString(),
    );
    expect(header.alg).toBe('RS256');
    const access = JSON.parse(
      Buffer.from(tokens.access_token.split('.')[1] as string, 'base64url').toString(),
    );
    expect(access.aud).toEqual(['orders', 'inventory']);
    expect(access.sid).toBe(claims?.sid);
    expect(access.auth_time).toBe(claims?.auth_time);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, aliceId);
    expect(info).toMatchObject({ sub: aliceId, name: 'Alice', email: 'alice@example.com' });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(aliceId);

    // SSO: a second authorization with prompt=none needs no form.
    const again = await start({ prompt: 'none' });
    const silent = await browser.fetch(again.url);
    expect(silent.status).toBe(303);
    expect(new URL(silent.headers.get('location') as string).searchParams.get('code')).toMatch(
      /^[A-Za-z0-9_-]{43}$/,
    );

    const logoutUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: LOGOUT_REDIRECT,
      state: 'bye',
    });
    const out = await browser.fetch(logoutUrl);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe(`${LOGOUT_REDIRECT}?state=bye`);
    // The refresh family of the session died with it.
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // After logout, prompt=none answers login_required (docs/security.md B51).
    const after = await start({ prompt: 'none' });
    const answer = await browser.fetch(after.url);
    const params = new URL(answer.headers.get('location') as string).searchParams;
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe(after.state);
  });

  it('renders the login page with a strict CSP, no framing and no CORS', async () => {
    const { url } = await start();
    const page = await new Browser().fetch(url, { headers: { origin: 'https://evil.example' } });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const html = await page.text();
    expect(html).toContain('name="username"');
    expect(html).toContain('name="password"');
    expect(parseForm(html).fields.csrf).toBeDefined();
  });
});
