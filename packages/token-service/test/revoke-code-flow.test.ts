import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { ORDERS_SECRET, orders, shopWeb } from '../../../test/support/token-service/clients.js';
import {
  ACCESS_TOKEN_TYPE,
  claimsOf,
  configure,
  recordRevocations,
  TOKEN_EXCHANGE,
} from '../../../test/support/token-service/delegation.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';

// docs/security.md A34 end to end: alice signs in to shop-web (code + PKCE, login form over HTTP),
// orders exchanges her token, then shop-web revokes its refresh token with openid-client.
describe.each(databases)('revoking a refresh token from the code flow on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let web: oidc.Configuration;
  let ordersConfig: oidc.Configuration;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, { clients: [shopWeb, orders] });
    await addAlice(harness.service);
    web = await oidc.discovery(new URL(harness.url), 'shop-web', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    ordersConfig = await configure(harness, 'orders', ORDERS_SECRET);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  async function signInAlice() {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(web, {
      redirect_uri: REDIRECT,
      scope: 'openid orders:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const { location } = await signIn(new Browser(), url, 'alice', ALICE_PASSWORD);
    return oidc.authorizationCodeGrant(web, location, { pkceCodeVerifier: verifier, expectedState: state });
  }

  it('revokes the family, the access tokens of the grant and the exchanged hop, with one jti event each', async () => {
    const tokens = await signInAlice();
    const refreshed = await oidc.refreshTokenGrant(web, tokens.refresh_token as string);
    const hop = await oidc.genericGrantRequest(ordersConfig, TOKEN_EXCHANGE, {
      subject_token: refreshed.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: 'payments',
    });
    for (const token of [tokens.access_token, refreshed.access_token]) {
      expect((await oidc.tokenIntrospection(ordersConfig, token)).active).toBe(true);
    }
    const recorder = await recordRevocations(harness);
    try {
      // A wrong hint on purpose: the refresh token is still found (A 34).
      await oidc.tokenRevocation(web, refreshed.refresh_token as string, { token_type_hint: 'access_token' });
      for (const token of [tokens.access_token, refreshed.access_token, hop.access_token]) {
        expect((await oidc.tokenIntrospection(ordersConfig, token)).active).toBe(false);
      }
      await expect(oidc.refreshTokenGrant(web, refreshed.refresh_token as string)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await eventually(() => expect(recorder.messages.length).toBeGreaterThanOrEqual(3));
      const events = recorder.messages.map((message) => JSON.parse(message) as { value: string });
      const expected = [tokens.access_token, refreshed.access_token, hop.access_token].map((token) => {
        const claims = claimsOf(token);
        return { kind: 'jti', value: claims.jti, until: claims.exp };
      });
      const byValue = (a: { value: unknown }, b: { value: unknown }) =>
        String(a.value) < String(b.value) ? -1 : 1;
      expect(events.sort(byValue)).toEqual(expected.sort(byValue));
    } finally {
      await recorder.stop();
    }
  });

  it('another client cannot revoke alice refresh token; it keeps working', async () => {
    const tokens = await signInAlice();
    await expect(oidc.tokenRevocation(ordersConfig, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'unauthorized_client',
    });
    const refreshed = await oidc.refreshTokenGrant(web, tokens.refresh_token as string);
    expect(refreshed.access_token).toBeTypeOf('string');
  });
});
