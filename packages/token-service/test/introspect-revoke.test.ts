import { AccessTokenSigner, createAccessTokenVerifier, parseRevocationEvent } from '@tessera/core';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import {
  basic,
  ORDERS_SECRET,
  orders,
  reports,
  shopWeb,
} from '../../../test/support/token-service/clients.js';
import {
  ACCESS_TOKEN_TYPE,
  ANALYTICS_SECRET,
  analytics,
  claimsOf,
  configure,
  PAYMENTS_SECRET,
  payments,
  postForm,
  recordRevocations,
  TOKEN_EXCHANGE,
  userToken,
} from '../../../test/support/token-service/delegation.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { GrantRepository, hashToken } from '../src/store/grants.js';

const T0 = Date.UTC(2030, 0, 1);
const REPORTS_SECRET = reports.client_secret as string;
// The order of P-256, for the (r, n - s) twin of an ECDSA signature.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function malleate(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  return `${header}.${payload}.${Buffer.concat([bytes.subarray(0, 32), twin]).toString('base64url')}`;
}

// RFC 7662 and RFC 7009 through real HTTP (openid-client's tokenIntrospection and tokenRevocation,
// fetch for the malformed cases), docs/security.md A30-34 and C 70, revocation events on the
// channel, on SQLite and PostgreSQL.
describe.each(databases)('/introspect and /revoke on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let clock = T0;
  let ordersConfig: oidc.Configuration;
  let paymentsConfig: oidc.Configuration;
  let analyticsConfig: oidc.Configuration;
  let reportsConfig: oidc.Configuration;
  let grants: GrantRepository;

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      now: () => clock,
      clients: [orders, payments, analytics, shopWeb, reports],
    });
    ordersConfig = await configure(harness, 'orders', ORDERS_SECRET);
    paymentsConfig = await configure(harness, 'payments', PAYMENTS_SECRET);
    analyticsConfig = await configure(harness, 'analytics', ANALYTICS_SECRET);
    reportsConfig = await configure(harness, 'reports', REPORTS_SECRET);
    grants = new GrantRepository(harness.context.db, () => clock);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });
  beforeEach(() => {
    clock = T0;
  });

  const ordersAuth = { authorization: basic('orders', ORDERS_SECRET) };

  async function ordersToken(): Promise<string> {
    return (await oidc.clientCredentialsGrant(ordersConfig, { scope: 'payments:charge' })).access_token;
  }

  /** A grant of alice to `clientId` with one refresh token and one access token issued under it. */
  async function userGrant(clientId: string) {
    const grant = await grants.create({
      userId: 'alice-sub',
      clientId,
      scopes: ['openid', 'orders:read'],
      audiences: ['orders'],
      sid: 'sid-alice-2',
      authTime: Math.floor(clock / 1000) - 5,
      expiresAt: clock + 86_400_000,
    });
    const refreshToken = await grants.addRefreshToken(grant.id, 3_600_000);
    const access = userToken(harness, { clientId, audience: ['orders'], sessionId: 'sid-alice-2' });
    await grants.recordAccessToken(grant.id, access.jti, access.exp);
    return { grant, refreshToken, access };
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

  async function isActiveFor(config: oidc.Configuration, token: string): Promise<boolean> {
    return (await oidc.tokenIntrospection(config, token)).active;
  }

  describe('introspection', () => {
    it('an active access token: every RFC 7662 field, for its client and for its audience', async () => {
      const token = await ordersToken();
      const claims = claimsOf(token);
      const own = await oidc.tokenIntrospection(ordersConfig, token);
      expect(own).toEqual({
        active: true,
        scope: 'payments:charge',
        client_id: 'orders',
        sub: 'orders',
        aud: orders.audiences,
        iss: harness.url,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        token_type: 'Bearer',
      });
      // payments is in aud: it may ask what it was sent.
      expect(await isActiveFor(paymentsConfig, token)).toBe(true);
      // analytics is neither the token's client nor in its aud: told nothing.
      const outsider = await postForm(harness, '/introspect', new URLSearchParams({ token }), {
        authorization: basic('analytics', ANALYTICS_SECRET),
      });
      expect(outsider.status).toBe(200);
      expect(outsider.text).toBe('{"active":false}');
    });

    it('an exchanged token shows its act chain, sid and auth_time', async () => {
      const exchanged = await oidc.genericGrantRequest(ordersConfig, TOKEN_EXCHANGE, {
        subject_token: userToken(harness).token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: 'payments',
      });
      const seen = await oidc.tokenIntrospection(paymentsConfig, exchanged.access_token);
      expect(seen).toMatchObject({
        active: true,
        sub: 'alice-sub',
        client_id: 'orders',
        aud: 'payments',
        act: { sub: 'orders' },
        sid: 'sid-alice-1',
        auth_time: Math.floor(T0 / 1000) - 10,
      });
    });

    it('A 30: without client authentication -> 401 invalid_client; a public client too', async () => {
      const token = await ordersToken();
      const anonymous = await postForm(harness, '/introspect', new URLSearchParams({ token }));
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toBe('invalid_client');
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
      const wrong = await postForm(harness, '/introspect', new URLSearchParams({ token }), {
        authorization: basic('orders', 'not-the-secret'),
      });
      expect(wrong.status).toBe(401);
      const publicClient = await postForm(
        harness,
        '/introspect',
        new URLSearchParams({ token, client_id: 'shop-web' }),
      );
      expect(publicClient.status).toBe(401);
      expect(publicClient.body.error).toBe('invalid_client');
      const missing = await postForm(harness, '/introspect', '', ordersAuth);
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_request');
      const get = await fetch(`${harness.url}/introspect`);
      expect(get.status).toBe(405);
    });

    it('A 31: garbage, expired, revoked and consumed tokens -> 200 {"active":false} and nothing else', async () => {
      const expired = userToken(harness, {}, 60).token;
      const revoked = await ordersToken();
      await oidc.tokenRevocation(ordersConfig, revoked);
      const { refreshToken: consumed, grant: consumedGrant } = await userGrant('reports');
      await grants.rotate(hashToken(consumed), consumedGrant.id, 3_600_000);
      clock = T0 + 61_000;
      const garbage = [
        'garbage',
        'a.b.c',
        'x'.repeat(600),
        `${expired.split('.')[0]}..`,
        expired.replace(/.$/, 'A'),
      ];
      for (const token of [...garbage, expired, revoked]) {
        const answer = await postForm(harness, '/introspect', new URLSearchParams({ token }), ordersAuth);
        expect(answer.status).toBe(200);
        expect(answer.text).toBe('{"active":false}');
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
        expect(answer.headers.get('cache-control')).toBe('no-store');
      }
      expect(await isActiveFor(reportsConfig, consumed)).toBe(false);
    });

    it('a refresh token: active for its own client while the grant lives, inactive for others', async () => {
      const { refreshToken } = await userGrant('reports');
      const seen = await oidc.tokenIntrospection(reportsConfig, refreshToken);
      expect(seen).toMatchObject({
        active: true,
        client_id: 'reports',
        sub: 'alice-sub',
        scope: 'openid orders:read',
      });
      expect(await isActiveFor(ordersConfig, refreshToken)).toBe(false);
      clock = T0 + 3_600_001;
      expect(await isActiveFor(reportsConfig, refreshToken)).toBe(false);
    });
  });

  describe('revocation', () => {
    it('revoking an access token: introspection says inactive, exchange refuses, a jti event goes out', async () => {
      const recorder = await recordRevocations(harness);
      try {
        const user = userToken(harness, { audience: ['orders'] });
        expect(await isActiveFor(ordersConfig, user.token)).toBe(true);
        const answer = await postForm(
          harness,
          '/revoke',
          new URLSearchParams({ token: user.token, client_id: 'shop-web' }),
        );
        expect(answer.status).toBe(200);
        expect(answer.text).toBe('');
        expect(await isActiveFor(ordersConfig, user.token)).toBe(false);
        expect(
          await refused(
            oidc.genericGrantRequest(ordersConfig, TOKEN_EXCHANGE, {
              subject_token: user.token,
              subject_token_type: ACCESS_TOKEN_TYPE,
            }),
          ),
        ).toEqual({ status: 400, error: 'invalid_grant' });
        await eventually(() => expect(recorder.messages.length).toBeGreaterThan(0));
        // Exactly the documented event shape: kind, value, until (= the token's exp, epoch s).
        expect(recorder.messages).toEqual([
          JSON.stringify({ kind: 'jti', value: user.jti, until: user.exp }),
        ]);
        // A retry (the client could not tell the first one worked) announces it again.
        expect(
          (
            await postForm(
              harness,
              '/revoke',
              new URLSearchParams({ token: user.token, client_id: 'shop-web' }),
            )
          ).status,
        ).toBe(200);
        await eventually(() => expect(recorder.messages.length).toBeGreaterThan(1));
        expect(recorder.messages[1]).toBe(recorder.messages[0]);
        expect(parseRevocationEvent(recorder.messages[0] as string)).toEqual({
          kind: 'jti',
          value: user.jti,
          until: user.exp,
        });
      } finally {
        await recorder.stop();
      }
    });

    it('A 32: an unknown, invalid or expired token -> 200; missing token -> 400 invalid_request', async () => {
      const expired = userToken(harness, { clientId: 'orders' }, 60).token;
      clock = T0 + 120_000;
      for (const token of ['unknown', 'a.b.c', expired, 'y'.repeat(2000)]) {
        await expect(oidc.tokenRevocation(ordersConfig, token)).resolves.toBeUndefined();
      }
      const missing = await postForm(harness, '/revoke', 'token_type_hint=access_token', ordersAuth);
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_request');
      const anonymous = await postForm(harness, '/revoke', new URLSearchParams({ token: 'x' }));
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toBe('invalid_client');
      expect((await fetch(`${harness.url}/revoke`)).status).toBe(405);
    });

    it('A 33: a client revoking another client token is refused and the token stays valid', async () => {
      const token = await ordersToken();
      expect(await refused(oidc.tokenRevocation(analyticsConfig, token))).toEqual({
        status: 400,
        error: 'unauthorized_client',
      });
      // payments is in the token's aud, but the token was not issued to it either.
      expect(await refused(oidc.tokenRevocation(paymentsConfig, token))).toEqual({
        status: 400,
        error: 'unauthorized_client',
      });
      expect(await isActiveFor(ordersConfig, token)).toBe(true);
      const { refreshToken } = await userGrant('reports');
      expect(await refused(oidc.tokenRevocation(ordersConfig, refreshToken))).toEqual({
        status: 400,
        error: 'unauthorized_client',
      });
      expect(await isActiveFor(reportsConfig, refreshToken)).toBe(true);
    });

    it('A 34: a wrong token_type_hint still finds and revokes the token', async () => {
      const access = await ordersToken();
      await oidc.tokenRevocation(ordersConfig, access, { token_type_hint: 'refresh_token' });
      expect(await isActiveFor(ordersConfig, access)).toBe(false);
      const { refreshToken } = await userGrant('reports');
      await oidc.tokenRevocation(reportsConfig, refreshToken, { token_type_hint: 'access_token' });
      expect(await isActiveFor(reportsConfig, refreshToken)).toBe(false);
      const odd = await ordersToken();
      await oidc.tokenRevocation(ordersConfig, odd, { token_type_hint: 'made_up' });
      expect(await isActiveFor(ordersConfig, odd)).toBe(false);
    });

    it('A 34: revoking a refresh token revokes its grant, every live access token of it and every hop exchanged from them', async () => {
      const { grant, refreshToken, access } = await userGrant('reports');
      const second = userToken(harness, { clientId: 'reports', audience: ['orders'] });
      await grants.recordAccessToken(grant.id, second.jti, second.exp);
      // Two hops of exchange from the grant's first token: orders, then payments.
      const hop1 = await oidc.genericGrantRequest(ordersConfig, TOKEN_EXCHANGE, {
        subject_token: access.token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: 'payments',
      });
      const hop2 = await oidc.genericGrantRequest(paymentsConfig, TOKEN_EXCHANGE, {
        subject_token: hop1.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: 'ledger',
      });
      expect(await isActiveFor(ordersConfig, access.token)).toBe(true);
      expect(await isActiveFor(paymentsConfig, hop2.access_token)).toBe(true);
      const recorder = await recordRevocations(harness);
      try {
        await oidc.tokenRevocation(reportsConfig, refreshToken);
        expect(await isActiveFor(reportsConfig, refreshToken)).toBe(false);
        expect(await isActiveFor(ordersConfig, access.token)).toBe(false);
        expect(await isActiveFor(ordersConfig, second.token)).toBe(false);
        expect(await isActiveFor(ordersConfig, hop1.access_token)).toBe(false);
        expect(await isActiveFor(paymentsConfig, hop2.access_token)).toBe(false);
        expect((await grants.find(grant.id))?.revokedAt).toBe(T0);
        await eventually(() => expect(recorder.messages.length).toBeGreaterThanOrEqual(4));
        const expected = [
          access,
          second,
          ...[hop1, hop2].map((hop) => {
            const claims = claimsOf(hop.access_token);
            return { jti: claims.jti as string, exp: claims.exp as number };
          }),
        ];
        const byValue = (a: { value: string }, b: { value: string }) => (a.value < b.value ? -1 : 1);
        expect(recorder.messages.map((message) => JSON.parse(message)).sort(byValue)).toEqual(
          expected.map((token) => ({ kind: 'jti', value: token.jti, until: token.exp })).sort(byValue),
        );
      } finally {
        await recorder.stop();
      }
      // The exchange of a token whose grant was revoked is refused.
      expect(
        await refused(
          oidc.genericGrantRequest(ordersConfig, TOKEN_EXCHANGE, {
            subject_token: access.token,
            subject_token_type: ACCESS_TOKEN_TYPE,
          }),
        ),
      ).toEqual({ status: 400, error: 'invalid_grant' });
    });

    it('a public client revokes its own refresh token with its client_id', async () => {
      const { refreshToken } = await userGrant('shop-web');
      const answer = await postForm(
        harness,
        '/revoke',
        new URLSearchParams({ token: refreshToken, client_id: 'shop-web' }),
      );
      expect(answer.status).toBe(200);
      const record = await grants.findByRefreshToken(hashToken(refreshToken));
      expect(record?.grant.revokedAt).toBe(T0);
    });

    it('C 70: a revoked ES256 token re-sent as its (r, n-s) twin is still refused', async () => {
      const ctx = harness.context;
      const es256 = new AccessTokenSigner({
        keys: () => ctx.keys.keySet,
        issuer: harness.url,
        lifetime: 300,
        now: () => clock,
        alg: 'ES256',
      });
      const { token } = es256.issue({ subject: 'orders', clientId: 'orders', audience: ['payments'] });
      const twin = malleate(token);
      expect(twin).not.toBe(token);
      // The twin is a valid signature over the same claims: only the jti can catch it.
      const verifier = createAccessTokenVerifier({
        issuer: harness.url,
        audience: 'payments',
        keys: { get: (kid) => ctx.keys.keySet.get(kid) },
        now: () => clock,
      });
      expect(verifier.verifySync(twin).tokenId).toBe(verifier.verifySync(token).tokenId);
      expect(await isActiveFor(paymentsConfig, twin)).toBe(true);
      await oidc.tokenRevocation(ordersConfig, token);
      expect(await isActiveFor(paymentsConfig, token)).toBe(false);
      expect(await isActiveFor(paymentsConfig, twin)).toBe(false);
    });

    it('the list forgets a revoked token once it has expired', async () => {
      const token = await ordersToken();
      await oidc.tokenRevocation(ordersConfig, token);
      const db = harness.context.db.withTables<{ oauth_revoked_tokens: { jti: string } }>();
      const jti = claimsOf(token).jti as string;
      const count = async () =>
        (await db.selectFrom('oauth_revoked_tokens').select('jti').where('jti', '=', jti).execute()).length;
      expect(await count()).toBe(1);
      clock = T0 + 301_000;
      // Any later revocation purges expired rows on its way.
      await oidc.tokenRevocation(ordersConfig, await ordersToken());
      expect(await count()).toBe(0);
    });
  });
});
