import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import {
  billingClient,
  type KeyedClient,
  ORDERS_SECRET,
  orders,
  shopWeb,
} from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

// openid-client 6 is the real counterpart: discovery and client_credentials with every client
// authentication method the service offers, on SQLite and on PostgreSQL.
describe.each(databases)('openid-client against the token service on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let billing: KeyedClient;

  beforeAll(async () => {
    database = await fixture.create();
    billing = await billingClient();
    harness = await startService(database, { clients: [orders, shopWeb, billing.registration] });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  async function configure(clientId: string, auth: oidc.ClientAuth): Promise<oidc.Configuration> {
    return oidc.discovery(new URL(harness.url), clientId, undefined, auth, {
      execute: [oidc.allowInsecureRequests],
    });
  }

  async function verify(token: string) {
    const jwks = (await (await fetch(`${harness.url}/jwks`)).json()) as { keys: [] };
    return jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: harness.url,
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    });
  }

  it('discovers the issuer and its metadata', async () => {
    const config = await configure('orders', oidc.ClientSecretBasic(ORDERS_SECRET));
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(harness.url);
    expect(metadata.token_endpoint).toBe(`${harness.url}/token`);
    expect(metadata.jwks_uri).toBe(`${harness.url}/jwks`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.grant_types_supported).toContain('client_credentials');
    expect(metadata.grant_types_supported).not.toContain('password');
    expect(metadata.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ]);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256', 'EdDSA', 'ES256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.request_parameter_supported).toBe(false);
    expect(metadata.request_uri_parameter_supported).toBe(false);
  });

  it('serves the same metadata at the RFC 8414 location', async () => {
    const oidcDoc = await (await fetch(`${harness.url}/.well-known/openid-configuration`)).json();
    const rfc8414 = await (await fetch(`${harness.url}/.well-known/oauth-authorization-server`)).json();
    expect(rfc8414).toEqual(oidcDoc);
  });

  it('client_credentials with client_secret_basic', async () => {
    const config = await configure('orders', oidc.ClientSecretBasic(ORDERS_SECRET));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'inventory:reserve' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(300);
    expect(tokens.scope).toBe('inventory:reserve');
    expect(tokens.refresh_token).toBeUndefined();
    const { payload, protectedHeader } = await verify(tokens.access_token);
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload.sub).toBe('orders');
    expect(payload.client_id).toBe('orders');
    expect(payload.scope).toBe('inventory:reserve');
    expect(payload.aud).toEqual(['inventory', 'payments', 'https://payments.example.com/api']);
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
  });

  it('client_credentials with client_secret_post, narrowed by resource', async () => {
    const config = await configure('orders', oidc.ClientSecretPost(ORDERS_SECRET));
    const tokens = await oidc.clientCredentialsGrant(config, {
      resource: 'https://payments.example.com/api',
    });
    const { payload } = await verify(tokens.access_token);
    expect(payload.aud).toBe('https://payments.example.com/api');
    expect(payload.scope).toBe('inventory:reserve payments:charge');
  });

  it('client_credentials narrowed by audience', async () => {
    const config = await configure('orders', oidc.ClientSecretBasic(ORDERS_SECRET));
    const tokens = await oidc.clientCredentialsGrant(config, {
      audience: 'payments',
      scope: 'payments:charge',
    });
    const { payload } = await verify(tokens.access_token);
    expect(payload.aud).toBe('payments');
  });

  it('client_credentials with private_key_jwt', async () => {
    const config = await configure(
      'billing',
      oidc.PrivateKeyJwt({ key: billing.privateKey, kid: 'billing-1' }),
    );
    const tokens = await oidc.clientCredentialsGrant(config);
    const { payload } = await verify(tokens.access_token);
    expect(payload.sub).toBe('billing');
    expect(payload.aud).toBe('payments');
    expect(payload.scope).toBe('payments:charge');
    // Each assertion has a fresh jti, so a second request is not a replay.
    const again = await oidc.clientCredentialsGrant(config);
    expect(decodeProtectedHeader(again.access_token).typ).toBe('at+jwt');
  });

  it('a wrong secret is refused as invalid_client', async () => {
    const config = await configure('orders', oidc.ClientSecretBasic('not-the-secret'));
    // openid-client reports the 401 by its WWW-Authenticate challenge (the body is checked in token-errors).
    const error = await oidc.clientCredentialsGrant(config).then(
      () => undefined,
      (reason: unknown) => reason as oidc.WWWAuthenticateChallengeError,
    );
    expect(error).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    expect(error?.status).toBe(401);
    expect(error?.cause[0]?.scheme).toBe('basic');
  });
});
