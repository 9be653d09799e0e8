import { createAccessTokenVerifier } from '@tessera/core';
import { SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { basic, ORDERS_SECRET, orders, shopWeb } from '../../../test/support/token-service/clients.js';
import {
  ACCESS_TOKEN_TYPE,
  ANALYTICS_SECRET,
  type Answer,
  analytics,
  claimsOf,
  configure,
  PAYMENTS_SECRET,
  payments,
  postForm,
  TOKEN_EXCHANGE,
  userToken,
} from '../../../test/support/token-service/delegation.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

const T0 = Date.UTC(2030, 0, 1);

// RFC 8693 token exchange through real HTTP (openid-client's genericGrantRequest, fetch for the
// malformed cases), docs/security.md A26-29 and C 71, on SQLite and PostgreSQL.
describe.each(databases)('token exchange on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let clock = T0;
  let ordersConfig: oidc.Configuration;
  let paymentsConfig: oidc.Configuration;

  // A client whose client_id is alice's sub (docs/security.md C71).
  const twin = {
    client_id: 'alice-sub',
    client_secret: 'alice-sub-secret-0123456789abcdef-01234',
    grant_types: ['client_credentials' as const],
    scopes: ['orders:read'],
    audiences: ['orders'],
  };

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      now: () => clock,
      clients: [orders, payments, analytics, shopWeb, twin],
    });
    ordersConfig = await configure(harness, 'orders', ORDERS_SECRET);
    paymentsConfig = await configure(harness, 'payments', PAYMENTS_SECRET);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });
  beforeEach(() => {
    clock = T0;
  });

  function verifier(audience: string) {
    const ctx = harness.context;
    return createAccessTokenVerifier({
      issuer: harness.url,
      audience,
      keys: { get: (kid) => ctx.keys.keySet.get(kid) },
      now: () => clock,
    });
  }

  function exchange(config: oidc.Configuration, parameters: Record<string, string> | URLSearchParams) {
    return oidc.genericGrantRequest(config, TOKEN_EXCHANGE, parameters);
  }

  async function refused(promise: Promise<unknown>): Promise<{ status: number; error: string }> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError) return { status: error.status, error: error.error };
      throw error;
    }
    throw new Error('the request was not refused');
  }

  const ordersAuth = { authorization: basic('orders', ORDERS_SECRET) };

  function exchangeForm(parameters: Record<string, string>): URLSearchParams {
    return new URLSearchParams({ grant_type: TOKEN_EXCHANGE, ...parameters });
  }

  function expectError(answer: Answer, status: number, error: string): void {
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(error);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  }

  it('two hops: orders exchanges alice token for payments, payments for the ledger; act nests', async () => {
    const user = userToken(harness);
    const first = await exchange(ordersConfig, {
      subject_token: user.token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: 'payments',
      scope: 'payments:charge',
    });
    expect(first.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
    expect(first.token_type).toBe('bearer');
    expect(first.refresh_token).toBeUndefined();
    expect(first.scope).toBe('payments:charge');
    const hop1 = verifier('payments').verifySync(first.access_token);
    expect(hop1.subject).toBe('alice-sub');
    expect(hop1.clientId).toBe('orders');
    expect(hop1.audience).toEqual(['payments']);
    expect(hop1.scopes).toEqual(['payments:charge']);
    expect(hop1.sessionId).toBe('sid-alice-1');
    expect(hop1.authTime).toBe(Math.floor(T0 / 1000) - 10);
    expect(hop1.claims.act).toEqual({ sub: 'orders' });
    expect(hop1.tokenId).not.toBe(user.jti);

    const second = await exchange(paymentsConfig, {
      subject_token: first.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: 'ledger',
      scope: 'ledger:write',
    });
    const hop2 = verifier('ledger').verifySync(second.access_token);
    expect(hop2.subject).toBe('alice-sub');
    expect(hop2.clientId).toBe('payments');
    expect(hop2.audience).toEqual(['ledger']);
    expect(hop2.scopes).toEqual(['ledger:write']);
    expect(hop2.claims.act).toEqual({ sub: 'payments', act: { sub: 'orders' } });
    expect(hop2.actors.map((actor) => actor.subject)).toEqual(['payments', 'orders']);
  });

  it('without audience or scope the token gets the client registered ones; resource works too', async () => {
    const all = await exchange(ordersConfig, {
      subject_token: userToken(harness).token,
      subject_token_type: ACCESS_TOKEN_TYPE,
    });
    const claims = claimsOf(all.access_token);
    expect(claims.aud).toEqual(orders.audiences);
    expect(claims.scope).toBe('inventory:reserve payments:charge');
    const byResource = await exchange(ordersConfig, {
      subject_token: userToken(harness).token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: 'https://payments.example.com/api',
    });
    expect(claimsOf(byResource.access_token).aud).toBe('https://payments.example.com/api');
  });

  it('the exchanged token never outlives its subject token', async () => {
    const user = userToken(harness, {}, 300);
    clock = T0 + 200_000;
    const answer = await exchange(ordersConfig, {
      subject_token: user.token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: 'payments',
    });
    expect(answer.expires_in).toBe(100);
    expect(claimsOf(answer.access_token).exp).toBe(user.exp);
  });

  it('A 26: subject_token or subject_token_type missing, actor_token without its type -> invalid_request', async () => {
    const token = userToken(harness).token;
    const cases: Record<string, string>[] = [
      { subject_token_type: ACCESS_TOKEN_TYPE, audience: 'payments' },
      { subject_token: token, audience: 'payments' },
      { subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE, actor_token: token },
      { subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE, actor_token_type: ACCESS_TOKEN_TYPE },
      { subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      { subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
      { subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: 'urn:x:saml' },
    ];
    for (const parameters of cases) {
      expectError(
        await postForm(harness, '/token', exchangeForm(parameters), ordersAuth),
        400,
        'invalid_request',
      );
    }
    // Through openid-client as well: the error reaches the client as a 5.2 error.
    expect(await refused(exchange(ordersConfig, { subject_token_type: ACCESS_TOKEN_TYPE }))).toEqual({
      status: 400,
      error: 'invalid_request',
    });
  });

  it('A 27: an expired, not yet valid, badly signed or foreign-key subject token -> invalid_grant', async () => {
    const expired = userToken(harness, {}, 60);
    clock = T0 + 61_000;
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: expired.token, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });

    clock = T0 + 600_000;
    const future = userToken(harness);
    clock = T0;
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: future.token, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });

    const good = userToken(harness).token;
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const flipped = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const edited = `${header}.${Buffer.from(JSON.stringify({ ...claimsOf(good), sub: 'bob-sub' })).toString('base64url')}.${signature}`;
    const stripped = `${header}.${payload}.`;
    for (const token of [flipped, edited, stripped, 'not-a-token', 'a.b.c']) {
      expect(
        await refused(
          exchange(ordersConfig, { subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE }),
        ),
      ).toEqual({ status: 400, error: 'invalid_grant' });
    }
  });

  it('A 27: a revoked subject token -> invalid_grant', async () => {
    const user = userToken(harness);
    // The web client (public) revokes its own token at logout.
    const revoked = await postForm(
      harness,
      '/revoke',
      new URLSearchParams({ token: user.token, client_id: 'shop-web' }),
    );
    expect(revoked.status).toBe(200);
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: user.token, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('A 27: an ID token or a refresh token as subject -> invalid_grant (or invalid_request by its type)', async () => {
    const ctx = harness.context;
    const rsa = ctx.keys.keySet.activeKey('RS256');
    const nowS = Math.floor(clock / 1000);
    // An ID token of this very issuer, addressed to orders: right signature, wrong kind of token.
    const idToken = await new SignJWT({ sub: 'alice-sub', nonce: 'n', client_id: 'orders', jti: 'id-1' })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, typ: 'JWT' })
      .setIssuer(harness.url)
      .setAudience('orders')
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + 300)
      .sign(rsa.privateKey);
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: idToken, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });
    // The same ID token declared as what it is.
    expect(
      await refused(
        exchange(ordersConfig, {
          subject_token: idToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        }),
      ),
    ).toEqual({ status: 400, error: 'invalid_request' });
    // An opaque refresh-token-shaped value.
    const refresh = Buffer.alloc(32, 7).toString('base64url');
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: refresh, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('A 27: a subject token not meant for the exchanging client -> invalid_grant', async () => {
    const forInventory = userToken(harness, { audience: ['inventory'] }).token;
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: forInventory, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });
    // A token orders itself holds for payments cannot be exchanged by orders either.
    const ownForPayments = userToken(harness, { audience: ['payments'], clientId: 'orders' }).token;
    expect(
      await refused(
        exchange(ordersConfig, { subject_token: ownForPayments, subject_token_type: ACCESS_TOKEN_TYPE }),
      ),
    ).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('A 28: no client authentication -> 401 invalid_client; a public client -> unauthorized_client', async () => {
    const form = exchangeForm({
      subject_token: userToken(harness).token,
      subject_token_type: ACCESS_TOKEN_TYPE,
    });
    const anonymous = await postForm(harness, '/token', form);
    expectError(anonymous, 401, 'invalid_client');
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    // orders naming itself without its secret is not authenticated.
    form.set('client_id', 'orders');
    expectError(await postForm(harness, '/token', form), 401, 'invalid_client');
    form.set('client_id', 'shop-web');
    expectError(await postForm(harness, '/token', form), 400, 'unauthorized_client');
    const analyticsConfig = await configure(harness, 'analytics', ANALYTICS_SECRET);
    expect(
      await refused(
        exchange(analyticsConfig, {
          subject_token: userToken(harness).token,
          subject_token_type: ACCESS_TOKEN_TYPE,
        }),
      ),
    ).toEqual({ status: 400, error: 'unauthorized_client' });
  });

  it('A 29: an audience the client may not reach -> invalid_target; a scope beyond it -> invalid_scope', async () => {
    const base = { subject_token: userToken(harness).token, subject_token_type: ACCESS_TOKEN_TYPE };
    for (const target of [
      { audience: 'ledger' },
      { audience: 'orders' },
      { resource: 'https://evil.example/' },
    ]) {
      expect(await refused(exchange(ordersConfig, { ...base, ...target }))).toEqual({
        status: 400,
        error: 'invalid_target',
      });
    }
    const two = new URLSearchParams({ ...base, audience: 'payments' });
    two.append('audience', 'ledger');
    expect(await refused(exchange(ordersConfig, two))).toEqual({ status: 400, error: 'invalid_target' });
    for (const scope of ['ledger:write', 'orders:read', 'payments:charge admin', 'bad"scope']) {
      expect(await refused(exchange(ordersConfig, { ...base, audience: 'payments', scope }))).toEqual({
        status: 400,
        error: 'invalid_scope',
      });
    }
  });

  it('C 71: a client whose client_id is a user sub still gets tokens told apart from the user', async () => {
    const twinConfig = await configure(harness, 'alice-sub', twin.client_secret);
    const clientToken = (await oidc.clientCredentialsGrant(twinConfig)).access_token;
    const user = userToken(harness);
    const clientClaims = claimsOf(clientToken);
    const userClaims = claimsOf(user.token);
    expect(clientClaims.sub).toBe(userClaims.sub);
    // The user token carries auth_time and sid; a client token carries neither, and sub = client_id.
    expect(clientClaims.auth_time).toBeUndefined();
    expect(clientClaims.sid).toBeUndefined();
    expect(clientClaims.client_id).toBe(clientClaims.sub);
    expect(userClaims.auth_time).toBeTypeOf('number');

    // Exchange keeps the difference: it never adds auth_time or sid to a client's token.
    const fromClient = await exchange(ordersConfig, {
      subject_token: clientToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: 'payments',
    });
    const fromUser = await exchange(ordersConfig, {
      subject_token: user.token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: 'payments',
    });
    const exchangedClient = verifier('payments').verifySync(fromClient.access_token);
    const exchangedUser = verifier('payments').verifySync(fromUser.access_token);
    expect(exchangedClient.subject).toBe(exchangedUser.subject);
    expect(exchangedClient.authTime).toBeUndefined();
    expect(exchangedClient.sessionId).toBeUndefined();
    expect(exchangedUser.authTime).toBeTypeOf('number');

    // Introspection shows the same: orders may see both (aud), and only the user's has auth_time.
    const seenClient = await oidc.tokenIntrospection(ordersConfig, clientToken);
    const seenUser = await oidc.tokenIntrospection(ordersConfig, user.token);
    expect(seenClient.active).toBe(true);
    expect(seenClient.auth_time).toBeUndefined();
    expect(seenUser.auth_time).toBe(userClaims.auth_time);
  });
});
