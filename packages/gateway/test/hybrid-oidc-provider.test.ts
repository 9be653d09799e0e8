import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../../../test/support/browser.js';
import { type Echo, startUpstream, type Upstream } from '../../../test/support/upstream.js';
import { createGateway, parseGatewayConfig } from '../src/index.js';

// Hybrid mode against an OpenID Provider we did not write: oidc-provider 9 as the issuer, with
// its own login and consent pages (its development interactions, answered by plain HTTP
// requests), PKCE required, EdDSA ID tokens, rotating refresh tokens, revocation, RP-initiated
// and back-channel logout. What is asserted is what the user and the upstream see.

const CLIENT_SECRET = 'gateway-secret-at-oidc-provider-0123456789abcdef';
const ACCOUNT = 'alice';

let issuer: string;
let gatewayUrl: string;
let providerServer: Server;
let gatewayServer: Server;
let gateway: FastifyInstance;
let upstream: Upstream;
/** The gateway's clock runs this far ahead, to reach the refresh window without waiting. */
let skew = 0;
/** What oidc-provider reports of each back-channel logout it sent the gateway. */
const backchannel: string[] = [];

async function listening(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

beforeAll(async () => {
  upstream = await startUpstream();
  // Both origins are known before either is configured: each names the other.
  ({ server: providerServer, url: issuer } = await listening());
  ({ server: gatewayServer, url: gatewayUrl } = await listening());

  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'op-ed25519', alg: 'EdDSA', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'gateway',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${gatewayUrl}/auth/callback`],
        post_logout_redirect_uris: [`${gatewayUrl}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'EdDSA',
        backchannel_logout_uri: `${gatewayUrl}/auth/backchannel-logout`,
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc-provider-test-cookie-key-0123456789'] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    // The profile claims in the ID token too (the gateway's /auth/me answers the ID token's).
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, name: 'Alice Example', preferred_username: sub }),
    }),
    ttl: { AccessToken: 300, IdToken: 300, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
    // A refresh token for the confidential client without offline_access, rotated on every use.
    issueRefreshToken: () => true,
    rotateRefreshToken: () => true,
    features: {
      devInteractions: { enabled: true },
      // A client revokes its own tokens only (what the default allows, said so to keep it quiet).
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // oidc-provider refuses to call loopback addresses (SSRF protection); the gateway is one here.
    fetch: (url: string, { dispatcher: _dispatcher, ...options }: RequestInit & { dispatcher?: unknown }) =>
      fetch(url, options),
  });
  provider.on('backchannel.success', () => backchannel.push('success'));
  provider.on('backchannel.error', (_ctx: unknown, error: unknown) =>
    backchannel.push(`error: ${(error as Error).message}`),
  );
  // Quiet: oidc-provider's development-mode warnings (dev interactions, default keys) are expected.
  providerServer.on('request', provider.callback());

  const config = parseGatewayConfig({
    logLevel: 'silent',
    session: { store: { type: 'memory' }, insecureHttpLocalhost: true },
    hybrid: {
      issuer,
      clientId: 'gateway',
      redirectUri: `${gatewayUrl}/auth/callback`,
      scopes: ['openid', 'profile'],
      postLogoutRedirectUri: `${gatewayUrl}/`,
    },
    routes: [{ prefix: '/api', upstream: upstream.url, auth: 'hybrid', stripPrefix: true }],
  });
  gateway = await createGateway(config, { clientSecret: CLIENT_SECRET, now: () => Date.now() + skew });
  await gateway.ready();
  gatewayServer.on('request', (request, response) => gateway.routing(request, response));
});

afterAll(async () => {
  await close(gatewayServer);
  await gateway.close();
  await close(providerServer);
  await upstream.close();
});

/**
 * Through oidc-provider's own pages: its login form (any password does in development mode),
 * then its consent form, until it sends the browser back to the gateway. Returns that address
 * and the prompts answered on the way.
 */
async function throughProvider(browser: Browser, start: URL): Promise<{ back: URL; prompts: string[] }> {
  const prompts: string[] = [];
  let response = await browser.fetch(start);
  let at = start;
  for (let step = 0; step < 12; step++) {
    const location = response.headers.get('location');
    if (location !== null) {
      at = new URL(location, at);
      if (at.origin !== issuer) return { back: at, prompts };
      response = await browser.fetch(at);
      continue;
    }
    expect(response.status, `${at.pathname} answered ${response.status}`).toBe(200);
    const page = await response.text();
    const action = /<form[^>]* action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(page)?.[1];
    if (action === undefined || prompt === undefined)
      throw new Error(`no interaction form at ${at.pathname}`);
    prompts.push(prompt);
    const fields: Record<string, string> =
      prompt === 'login' ? { prompt, login: ACCOUNT, password: 'any' } : { prompt };
    response = await browser.post(issuer, action, fields);
    at = new URL(action, issuer);
  }
  throw new Error('oidc-provider did not send the browser back');
}

async function signIn(): Promise<Browser> {
  const browser = new Browser();
  const start = await browser.fetch(`${gatewayUrl}/auth/login?return_to=/orders`);
  expect(start.status).toBe(303);
  const authorize = new URL(start.headers.get('location') as string);
  expect(authorize.origin + authorize.pathname).toBe(`${issuer}/auth`);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  const { back, prompts } = await throughProvider(browser, authorize);
  expect(prompts).toEqual(['login', 'consent']);
  expect(back.origin + back.pathname).toBe(`${gatewayUrl}/auth/callback`);
  // oidc-provider names itself in the answer (RFC 9207), and the gateway checks it.
  expect(back.searchParams.get('iss')).toBe(issuer);
  const done = await browser.fetch(back);
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toBe('/orders');
  return browser;
}

async function upstreamToken(browser: Browser): Promise<string> {
  const response = await browser.fetch(`${gatewayUrl}/api/orders`);
  expect(response.status).toBe(200);
  const echo = (await response.json()) as Echo;
  expect(echo.url).toBe('/orders');
  expect(echo.headers.cookie).toBeUndefined();
  const header = echo.headers.authorization as string;
  expect(header).toMatch(/^Bearer /);
  return header.slice('Bearer '.length);
}

/** What oidc-provider's userinfo endpoint says of a token: the user it belongs to, or 401. */
async function userinfo(token: string): Promise<{ status: number; sub?: string }> {
  const response = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) return { status: response.status };
  return { status: 200, sub: ((await response.json()) as { sub: string }).sub };
}

async function me(browser: Browser): Promise<Response> {
  return browser.fetch(`${gatewayUrl}/auth/me`);
}

describe('hybrid mode with oidc-provider as the issuer', () => {
  it('signs in through its pages, sends its token upstream, refreshes it, and logs out there', async () => {
    skew = 0;
    const browser = await signIn();
    // The user: a session at the gateway with the ID token's claims, and only a cookie in the browser.
    const answer = await me(browser);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as {
      subject: string;
      username: string;
      claims: Record<string, unknown>;
      csrf_token: string;
    };
    expect(body.subject).toBe(ACCOUNT);
    expect(body.username).toBe(ACCOUNT);
    expect(body.claims).toMatchObject({ sub: ACCOUNT, name: 'Alice Example' });
    expect(JSON.stringify(body)).not.toMatch(/eyJ/);
    expect(browser.cookies.has('tessera-sid')).toBe(true);

    // The upstream: a token oidc-provider issued for this user.
    const first = await upstreamToken(browser);
    expect(await userinfo(first)).toEqual({ status: 200, sub: ACCOUNT });
    expect(await upstreamToken(browser)).toBe(first);

    // 4 min 30 s on, the 5-minute token is inside the refresh window: a new one, from a rotated
    // refresh token; 4 min 30 s later again, the rotated refresh token works (no reuse detected).
    skew = 270_000;
    const second = await upstreamToken(browser);
    expect(second).not.toBe(first);
    expect(await userinfo(second)).toEqual({ status: 200, sub: ACCOUNT });
    skew = 540_000;
    const third = await upstreamToken(browser);
    expect(third).not.toBe(second);
    expect(await userinfo(third)).toEqual({ status: 200, sub: ACCOUNT });
    expect((await me(browser)).status).toBe(200);

    // Back to oidc-provider's time: the logout token it sends below is dated by its clock.
    skew = 0;
    // Logout: the session ends, the tokens are revoked at oidc-provider, and the browser is sent
    // on to end its session there, back to the gateway with the state that says so.
    const csrf = ((await (await me(browser)).json()) as { csrf_token: string }).csrf_token;
    const logout = await browser.fetch(`${gatewayUrl}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrf },
    });
    expect(logout.status).toBe(200);
    const next = new URL(((await logout.json()) as { next: string }).next);
    expect(next.origin + next.pathname).toBe(`${issuer}/session/end`);
    expect(next.searchParams.get('client_id')).toBe('gateway');
    expect(next.searchParams.get('post_logout_redirect_uri')).toBe(`${gatewayUrl}/`);
    expect(next.searchParams.get('state')).toBe('signed-out');
    expect((await me(browser)).status).toBe(401);
    expect((await browser.fetch(`${gatewayUrl}/api/orders`)).status).toBe(401);
    expect((await userinfo(third)).status).toBe(401);

    const confirm = await browser.fetch(next);
    expect(confirm.status).toBe(200);
    const page = await confirm.text();
    const action = /<form[^>]* action="([^"]+)"/.exec(page)?.[1] as string;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1] as string;
    backchannel.splice(0);
    const back = await browser.post(issuer, action, { xsrf, logout: 'yes' });
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe(`${gatewayUrl}/?state=signed-out`);
    // It also told the gateway by a logout token, which the gateway took (nothing left to end).
    expect(backchannel).toEqual(['success']);
  });

  it('ends the gateway session when the user signs out at oidc-provider (back-channel logout)', async () => {
    skew = 0;
    const browser = await signIn();
    const other = await signIn();
    expect((await me(browser)).status).toBe(200);
    backchannel.splice(0);

    // Signing out at oidc-provider itself: its confirmation page, then a logout token to the gateway.
    const confirm = await browser.fetch(`${issuer}/session/end`);
    expect(confirm.status).toBe(200);
    const page = await confirm.text();
    const action = /<form[^>]* action="([^"]+)"/.exec(page)?.[1] as string;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1] as string;
    const done = await browser.post(issuer, action, { xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    // The gateway accepted oidc-provider's logout token (a refusal would be a 400 here).
    expect(backchannel).toEqual(['success']);
    expect((await me(browser)).status).toBe(401);
    expect((await browser.fetch(`${gatewayUrl}/api/orders`)).status).toBe(401);
    // The same user's other browser had its own session at oidc-provider: it goes on.
    expect((await me(other)).status).toBe(200);
  });
});
