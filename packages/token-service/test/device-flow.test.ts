import { createLocalJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';
import { userCodeAttemptsKey } from '../src/endpoints/device/page.js';
import type { ClientRegistration } from '../src/store/client-registration.js';

// The device authorization grant (RFC 8628) with openid-client 6 as the device, and the
// user-code page driven over HTTP as a person's browser would.

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const KIOSK_SECRET = 'kiosk-secret-0123456789abcdef-0123456789abc';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** A public client of the device grant (a command-line tool). */
const tv: ClientRegistration = {
  client_id: 'tv',
  client_name: 'Living-room TV',
  token_endpoint_auth_method: 'none',
  grant_types: [DEVICE_GRANT, 'refresh_token'],
  scopes: ['openid', 'profile', 'orders:read'],
  audiences: ['orders'],
  first_party: true,
};

/** A confidential one. */
const kiosk: ClientRegistration = {
  client_id: 'kiosk',
  client_secret: KIOSK_SECRET,
  grant_types: [DEVICE_GRANT],
  scopes: ['orders:read'],
  audiences: ['orders'],
};

interface DeviceStart {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** The user-code page, code entered, as a person would: returns the page that follows. */
async function enterCode(browser: Browser, verificationUri: string, userCode: string): Promise<Response> {
  const page = await browser.fetch(verificationUri);
  expect(page.status).toBe(200);
  const { action } = parseForm(await page.text());
  return browser.post(verificationUri, action, { user_code: userCode, action: 'continue' });
}

/** Enters the code, signs in as alice when asked, and answers the approval page. */
async function answer(
  browser: Browser,
  start: { verification_uri_complete?: string; verification_uri: string; user_code: string },
  decision: 'approve' | 'cancel',
): Promise<string> {
  const uri = start.verification_uri_complete ?? start.verification_uri;
  let page = await enterCode(browser, uri, start.user_code);
  expect(page.status).toBe(200);
  let html = await page.text();
  if (html.includes('name="password"')) {
    const login = parseForm(html);
    page = await browser.post(uri, login.action, {
      ...login.fields,
      username: 'alice',
      password: ALICE_PASSWORD,
      action: 'login',
    });
    expect(page.status).toBe(200);
    html = await page.text();
  }
  expect(html).toContain(start.user_code);
  const consent = parseForm(html);
  const done = await browser.post(uri, consent.action, { ...consent.fields, action: decision });
  expect(done.status).toBe(200);
  return done.text();
}

describe.each(databases)('the device flow with openid-client on $name (A136, A137, A138)', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let aliceId: string;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clients: [tv, kiosk, shopWeb], deviceCodeInterval: 1 });
    aliceId = await addAlice(harness.service);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  const configure = (clientId: string, auth?: oidc.ClientAuth) =>
    oidc.discovery(new URL(harness.url), clientId, undefined, auth ?? oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });

  async function verify(token: string) {
    const jwks = (await (await fetch(`${harness.url}/jwks`)).json()) as { keys: [] };
    return jwtVerify(token, createLocalJWKSet(jwks), { issuer: harness.url, typ: 'at+jwt' });
  }

  it('advertises the device endpoint and the grant', async () => {
    const metadata = (await configure('tv')).serverMetadata();
    expect(metadata.device_authorization_endpoint).toBe(`${harness.url}/device_authorization`);
    expect(metadata.grant_types_supported).toContain(DEVICE_GRANT);
  });

  it('a public client gets tokens once the user signs in and approves on the page', async () => {
    const config = await configure('tv');
    const start = await oidc.initiateDeviceAuthorization(config, { scope: 'openid orders:read' });
    expect(start.user_code).toMatch(USER_CODE);
    expect(start.verification_uri).toBe(`${harness.url}/device`);
    expect(start.verification_uri_complete).toBe(
      `${harness.url}/device?user_code=${encodeURIComponent(start.user_code)}`,
    );
    expect(start.expires_in).toBe(600);
    expect(start.interval).toBe(1);
    // openid-client polls (authorization_pending until the user answers) while the user answers.
    const polling = oidc.pollDeviceAuthorizationGrant(config, start);
    const browser = new Browser();
    // The page is filled in from verification_uri_complete.
    const entry = await browser.fetch(start.verification_uri_complete as string);
    expect(await entry.text()).toContain(`value="${start.user_code}"`);
    expect(await answer(browser, start, 'approve')).toContain('Device connected');
    const tokens = await polling;
    expect(tokens.scope).toBe('openid orders:read');
    expect(tokens.refresh_token).toBeDefined();
    expect(tokens.claims()?.sub).toBe(aliceId);
    const { payload } = await verify(tokens.access_token);
    expect(payload.sub).toBe(aliceId);
    expect(payload.client_id).toBe('tv');
    expect(payload.aud).toBe('orders');
    // The refresh token works as any other.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect((await verify(refreshed.access_token)).payload.sub).toBe(aliceId);
  });

  it('with a DPoP key (RFC 9449 5): bound tokens, and a refresh token bound to that key (A145)', async () => {
    const config = await configure('tv');
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const start = await oidc.initiateDeviceAuthorization(config, { scope: 'orders:read' });
    const polling = oidc.pollDeviceAuthorizationGrant(config, start, undefined, { DPoP });
    await answer(new Browser(), start, 'approve');
    const tokens = await polling;
    expect(tokens.token_type).toBe('dpop');
    const jkt = await DPoP.calculateThumbprint();
    expect((await verify(tokens.access_token)).payload.cnf).toEqual({ jkt });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string, undefined, {
      DPoP,
    });
    expect((await verify(refreshed.access_token)).payload.cnf).toEqual({ jkt });
  });

  it('a signed-in browser goes straight to the approval (the SSO session), typed code in any case', async () => {
    const browser = new Browser();
    const config = await configure('tv');
    const first = await oidc.initiateDeviceAuthorization(config, {});
    await answer(browser, first, 'approve');
    await oidc.pollDeviceAuthorizationGrant(config, first);
    const second = await oidc.initiateDeviceAuthorization(config, { scope: 'orders:read' });
    const typed = second.user_code.toLowerCase().replace('-', ' ');
    const page = await enterCode(browser, second.verification_uri, typed);
    const html = await page.text();
    expect(html).not.toContain('name="password"');
    expect(html).toContain('Allow access?');
    expect(html).toContain(second.user_code);
  });

  it('a confidential client authenticates at both endpoints; a denial is access_denied', async () => {
    const config = await configure('kiosk', oidc.ClientSecretBasic(KIOSK_SECRET));
    const start = await oidc.initiateDeviceAuthorization(config, {});
    const polling = oidc.pollDeviceAuthorizationGrant(config, start);
    const outcome = polling.then(
      () => 'issued',
      (error: unknown) => (error instanceof oidc.ResponseBodyError ? error.error : String(error)),
    );
    expect(await answer(new Browser(), start, 'cancel')).toContain('Access denied');
    expect(await outcome).toBe('access_denied');
  });

  it('cancel on the login form denies the device too', async () => {
    const config = await configure('tv');
    const start = await oidc.initiateDeviceAuthorization(config, {});
    const browser = new Browser();
    const login = parseForm(await (await enterCode(browser, start.verification_uri, start.user_code)).text());
    const page = await browser.post(start.verification_uri, login.action, {
      ...login.fields,
      action: 'cancel',
    });
    expect(await page.text()).toContain('Access denied');
    await expect(oidc.pollDeviceAuthorizationGrant(config, start)).rejects.toMatchObject({
      error: 'access_denied',
    });
  });

  it('refuses a client not registered for the grant, at /device_authorization and at /token', async () => {
    const config = await configure('shop-web');
    await expect(oidc.initiateDeviceAuthorization(config, {})).rejects.toMatchObject({
      error: 'unauthorized_client',
    });
    const polled = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: 'shop-web', device_code: 'x' }),
    });
    expect(polled.status).toBe(400);
    expect(((await polled.json()) as { error: string }).error).toBe('unauthorized_client');
  });

  it('refuses a scope beyond the registration and a wrong client secret', async () => {
    await expect(
      oidc.initiateDeviceAuthorization(await configure('tv'), { scope: 'orders:write' }),
    ).rejects.toMatchObject({ error: 'invalid_scope' });
    const wrong = await configure('kiosk', oidc.ClientSecretBasic('not-the-secret'));
    // openid-client reports the 401's Basic challenge rather than its body (invalid_client).
    await expect(oidc.initiateDeviceAuthorization(wrong, {})).rejects.toMatchObject({ status: 401 });
    const rows = await harness.db
      .selectFrom('oauth_device_codes' as never)
      .select(({ fn }) => fn.countAll().as('n'))
      .where('client_id' as never, '=', 'kiosk' as never)
      .executeTakeFirstOrThrow();
    // Only the authorization of the earlier kiosk test was stored.
    expect(Number((rows as { n: unknown }).n)).toBe(1);
  });

  it('concurrent redemptions of an approved code: never two sets of tokens, and the grant ends revoked', async () => {
    const config = await configure('kiosk', oidc.ClientSecretBasic(KIOSK_SECRET));
    const start = await oidc.initiateDeviceAuthorization(config, {});
    await answer(new Browser(), start, 'approve');
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`${harness.url}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic('kiosk', KIOSK_SECRET),
          },
          body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: start.device_code }),
        }),
      ),
    );
    // The conditional UPDATE lets one redeem; the others are a reuse and revoke the grant, so the
    // one that won answers 200 with tokens already dead, or (when a loser revoked first) invalid_grant.
    const issued = answers.filter((response) => response.status === 200);
    expect(issued.length).toBeLessThanOrEqual(1);
    for (const refused of answers.filter((response) => response.status !== 200)) {
      expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
    }
    for (const response of issued) {
      const { access_token } = (await response.json()) as { access_token: string };
      const introspection = await fetch(`${harness.url}/introspect`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('kiosk', KIOSK_SECRET),
        },
        body: new URLSearchParams({ token: access_token }),
      });
      expect(await introspection.json()).toMatchObject({ active: false });
    }
  });

  it('a device code is redeemed once: a second redemption fails and revokes what the first got', async () => {
    const start = (await (
      await fetch(`${harness.url}/device_authorization`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('kiosk', KIOSK_SECRET),
        },
        body: 'scope=orders%3Aread',
      })
    ).json()) as DeviceStart;
    await answer(new Browser(), start, 'approve');
    const redeem = () =>
      fetch(`${harness.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('kiosk', KIOSK_SECRET),
        },
        body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: start.device_code }),
      });
    const first = await redeem();
    expect(first.status).toBe(200);
    const { access_token } = (await first.json()) as { access_token: string };
    const second = await redeem();
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ error: 'invalid_grant' });
    const introspection = await fetch(`${harness.url}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('kiosk', KIOSK_SECRET),
      },
      body: new URLSearchParams({ token: access_token }),
    });
    expect(await introspection.json()).toMatchObject({ active: false });
  });
});

describe.each(databases)('device polling answers, step by step, on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  // A clock that moves only when the test moves it: "at once" is the same millisecond.
  let clock = Date.now();

  beforeAll(async () => {
    database = await fixture.create();
    // The default interval (5 s), on a clock the test moves forward.
    harness = await startService(database, { clients: [tv, kiosk], now: () => clock });
    await addAlice(harness.service);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  async function start(clientId = 'tv'): Promise<DeviceStart> {
    const response = await fetch(`${harness.url}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    return (await response.json()) as DeviceStart;
  }

  async function poll(deviceCode: string, clientAuth: Record<string, string> = { client_id: 'tv' }) {
    const response = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, ...clientAuth }),
    });
    const body = (await response.json()) as { error?: string; error_description?: string };
    return { status: response.status, ...body };
  }

  it('answers with RFC 8628 defaults', async () => {
    const answer = await start();
    expect(answer.expires_in).toBe(600);
    expect(answer.interval).toBe(5);
    expect(answer.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(answer.user_code).toMatch(USER_CODE);
  });

  it('authorization_pending, then slow_down when polled too soon, the interval growing by 5 s each time', async () => {
    const { device_code } = await start();
    expect(await poll(device_code)).toMatchObject({ status: 400, error: 'authorization_pending' });
    // At once again: too soon for 5 s.
    expect(await poll(device_code)).toMatchObject({ status: 400, error: 'slow_down' });
    // 6 s later: past the first interval, but it is 10 s now.
    clock += 6_000;
    expect(await poll(device_code)).toMatchObject({ error: 'slow_down' });
    // 16 s later: past 15 s, the interval after the second slow_down.
    clock += 16_000;
    expect(await poll(device_code)).toMatchObject({ error: 'authorization_pending' });
  });

  it('expired_token once expires_in has passed, and the page refuses the code', async () => {
    const answer = await start();
    clock += 601_000;
    expect(await poll(answer.device_code)).toMatchObject({ status: 400, error: 'expired_token' });
    const page = await enterCode(new Browser(), answer.verification_uri, answer.user_code);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('not valid, or it has expired');
  });

  it('another client presenting the code gets invalid_grant, and the code stays usable', async () => {
    const { device_code } = await start();
    expect(await poll(device_code, { client_id: 'kiosk', client_secret: KIOSK_SECRET })).toMatchObject({
      status: 400,
      error: 'invalid_grant',
      error_description: 'the device code was issued to another client',
    });
    expect(await poll('no-such-device-code')).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await poll(device_code)).toMatchObject({ error: 'authorization_pending' });
  });

  it('a device_code is required', async () => {
    const response = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: 'tv' }),
    });
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a device sign-in form does not open at /login (its own sealing key)', async () => {
    const answer = await start();
    const browser = new Browser();
    const login = parseForm(
      await (await enterCode(browser, answer.verification_uri, answer.user_code)).text(),
    );
    expect(login.action).toBe('/device/login');
    const elsewhere = await browser.post(harness.url, '/login', {
      ...login.fields,
      username: 'alice',
      password: ALICE_PASSWORD,
      action: 'login',
    });
    expect(elsewhere.status).toBe(400);
    // The interaction cookie's name is the device flow's, so /login finds none of its own either.
    expect([...browser.cookies.keys()]).toContain('tessera-interaction-device');
  });

  it('purges device codes an hour after they expired', async () => {
    const { purgeExpiredRecords } = await import('@tessera/token-service');
    await start();
    clock += 601_000 + 3_600_000;
    const counts = await purgeExpiredRecords(harness.service);
    expect(counts.deviceCodes).toBeGreaterThan(0);
    const left = await harness.db
      .selectFrom('oauth_device_codes' as never)
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number((left as { n: unknown }).n)).toBe(0);
  });

  // Last: it uses up this address's budget of wrong codes.
  it('bounds wrong user codes per address: 10, then 429 even for a good code', async () => {
    // A fresh budget: the tests above entered a wrong code or two.
    await harness.store.delete(userCodeAttemptsKey('127.0.0.1'));
    const good = await start();
    const browser = new Browser();
    // Good codes cost nothing (every test above entered some).
    for (let i = 0; i < 12; i++)
      expect((await enterCode(browser, good.verification_uri, good.user_code)).status).toBe(200);
    for (const typed of ['hello', 'BCDF-GHJK', 'AAAA-AAAA', 'BCDF-GHJ']) {
      const page = await enterCode(browser, good.verification_uri, typed);
      expect(page.status).toBe(400);
      expect(await page.text()).toContain('not valid, or it has expired');
    }
    // Sent at once: the counter is taken atomically, so exactly the 6 left get through.
    const burst = await Promise.all(
      Array.from({ length: 15 }, () =>
        fetch(good.verification_uri, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'user_code=ZZZZ-ZZZZ',
        }),
      ),
    );
    expect(burst.filter((page) => page.status === 400)).toHaveLength(6);
    expect(burst.filter((page) => page.status === 429)).toHaveLength(9);
    const limited = await enterCode(browser, good.verification_uri, good.user_code);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('900');
    expect(await limited.text()).toContain('Too many wrong codes');
  });
});
