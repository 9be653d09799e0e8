import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, signIn } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const SCOPES = ['openid', 'profile', 'email', 'address', 'phone'];
const PASSWORD = 'carol-password-0123';

// A user with every standard claim, so a real sign-in shows everything the ID token and
// /userinfo can carry; discovery must list each of them.
const carolClaims = {
  name: 'Carol Doe',
  given_name: 'Carol',
  family_name: 'Doe',
  middle_name: 'Q',
  nickname: 'cq',
  preferred_username: 'carol.d',
  profile: 'https://example.com/carol',
  picture: 'https://example.com/carol.png',
  website: 'https://carol.example.com',
  gender: 'female',
  birthdate: '1990-01-01',
  zoneinfo: 'Europe/Paris',
  locale: 'fr-FR',
  email: 'carol@example.com',
  email_verified: true,
  address: { formatted: '1 Main St', street_address: '1 Main St', locality: 'Paris', country: 'FR' },
  phone_number: '+33 1 23 45 67 89',
  phone_number_verified: false,
};

describe.each(databases)('discovery tells the truth on $name (docs/security.md D120)', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let config: oidc.Configuration;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      clients: [
        {
          client_id: 'everything-web',
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'refresh_token'],
          scopes: SCOPES,
          first_party: true,
        },
      ],
    });
    await harness.service.users.create('carol', PASSWORD, carolClaims);
    config = await oidc.discovery(new URL(harness.url), 'everything-web', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  it('claims_supported lists every claim of a real ID token and userinfo answer', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: SCOPES.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
    });
    const { location } = await signIn(new Browser(), url, 'carol', PASSWORD);
    const tokens = await oidc.authorizationCodeGrant(config, location, {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const idTokenClaims = Object.keys(decodeJwt(tokens.id_token as string));
    const subject = tokens.claims()?.sub as string;
    const userinfoClaims = Object.keys(await oidc.fetchUserInfo(config, tokens.access_token, subject));
    const carried = [...new Set([...idTokenClaims, ...userinfoClaims])];
    // Every standard claim made it out, so the list below is the whole of what can be carried.
    for (const name of Object.keys(carolClaims)) expect(carried).toContain(name);
    expect(carried).toContain('updated_at');

    const metadata = config.serverMetadata();
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(carried));
    for (const scope of SCOPES) expect(metadata.scopes_supported).toContain(scope);
  });

  it('revocation_endpoint_auth_methods_supported has none, and a public client revokes its own token', async () => {
    const metadata = config.serverMetadata();
    expect(metadata.revocation_endpoint_auth_methods_supported).toContain('none');
    expect(metadata.introspection_endpoint_auth_methods_supported).not.toContain('none');
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { location } = await signIn(new Browser(), url, 'carol', PASSWORD);
    const tokens = await oidc.authorizationCodeGrant(config, location, { pkceCodeVerifier: verifier });
    await oidc.tokenRevocation(config, tokens.refresh_token as string);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});
