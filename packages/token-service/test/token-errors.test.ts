import type { webcrypto } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import {
  basic,
  billingClient,
  type KeyedClient,
  ORDERS_SECRET,
  orders,
  reports,
  shopWeb,
} from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

const FORM = 'application/x-www-form-urlencoded';
// RFC 6749 5.2: error and error_description are limited to %x20-21 / %x23-5B / %x5D-7E.
const ALLOWED = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

// docs/security.md A8-17, 23-25 through real HTTP, on SQLite and on PostgreSQL.
describe.each(databases)('/token refuses bad requests on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  let billing: KeyedClient;

  beforeAll(async () => {
    database = await fixture.create();
    billing = await billingClient();
    harness = await startService(database, { clients: [orders, shopWeb, reports, billing.registration] });
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  async function post(body: string, headers: Record<string, string> = {}, path = '/token'): Promise<Answer> {
    const response = await fetch(`${harness.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': FORM, ...headers },
      body,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }

  const ordersAuth = { authorization: basic('orders', ORDERS_SECRET) };

  function expectError(answer: Answer, status: number, error: string): void {
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(error);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    const description = answer.body.error_description;
    if (description !== undefined) expect(description).toMatch(ALLOWED);
    expect(Object.keys(answer.body).every((key) => key === 'error' || key === 'error_description')).toBe(
      true,
    );
  }

  function expectInvalidClient(answer: Answer): void {
    expectError(answer, 401, 'invalid_client');
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm="tessera"/);
  }

  async function assertion(
    claims: Record<string, unknown>,
    options: { key?: webcrypto.CryptoKey; alg?: string; kid?: string; omit?: string[] } = {},
  ): Promise<string> {
    const nowS = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: 'billing',
      sub: 'billing',
      aud: harness.url,
      exp: nowS + 60,
      iat: nowS,
      jti: randomUUID(),
      ...claims,
    };
    for (const name of options.omit ?? []) delete payload[name];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: options.alg ?? 'EdDSA', kid: options.kid ?? 'billing-1' })
      .sign(options.key ?? billing.privateKey);
  }

  function jwtBody(jwt: string, extra = ''): string {
    return `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )}&client_assertion=${jwt}${extra}`;
  }

  it('issues a token with no-store, Pragma and security headers (A 16, 23)', async () => {
    const answer = await post('grant_type=client_credentials&scope=inventory:reserve', ordersAuth);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    expect(answer.body.token_type).toBe('Bearer');
    expect(answer.body.refresh_token).toBeUndefined();
  });

  it('A 8: a confidential client without authentication gets 401 invalid_client', async () => {
    expectInvalidClient(await post('grant_type=client_credentials&client_id=orders'));
    expectInvalidClient(await post('grant_type=client_credentials'));
  });

  it('A 9: a wrong secret or an unknown client gets 401 invalid_client with WWW-Authenticate: Basic', async () => {
    expectInvalidClient(
      await post('grant_type=client_credentials', { authorization: basic('orders', 'wrong') }),
    );
    expectInvalidClient(await post('grant_type=client_credentials&client_id=orders&client_secret=wrong'));
    const unknown = await post('grant_type=client_credentials', { authorization: basic('nobody', 'x') });
    expectInvalidClient(unknown);
    const wrong = await post('grant_type=client_credentials', { authorization: basic('orders', 'wrong') });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('A 10: two authentication methods, or a body client_id unlike the Basic one, get 400 invalid_request', async () => {
    expectError(
      await post(`grant_type=client_credentials&client_id=orders&client_secret=${ORDERS_SECRET}`, ordersAuth),
      400,
      'invalid_request',
    );
    expectError(
      await post('grant_type=client_credentials&client_id=billing', ordersAuth),
      400,
      'invalid_request',
    );
    const jwt = await assertion({});
    expectError(await post(jwtBody(jwt, `&client_secret=${ORDERS_SECRET}`)), 400, 'invalid_request');
    expectError(await post(jwtBody(jwt), ordersAuth), 400, 'invalid_request');
  });

  it('A 11: a malformed Basic header gets 401, never 500', async () => {
    for (const header of [
      'Basic !!!not-base64!!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from('orders:%zz').toString('base64')}`,
      `Basic ${Buffer.from([0x6f, 0xff, 0x3a, 0x78]).toString('base64')}`,
      'Basic',
      'Basic ',
      'Bearer abc',
    ]) {
      expectInvalidClient(await post('grant_type=client_credentials', { authorization: header }));
    }
  });

  it('A 11: a client secret in the query string gets 400 invalid_request', async () => {
    expectError(
      await post(
        'grant_type=client_credentials&client_id=orders',
        {},
        `/token?client_secret=${ORDERS_SECRET}`,
      ),
      400,
      'invalid_request',
    );
  });

  it('Basic credentials are form-urlencoded before Base64 (RFC 6749 2.3.1)', async () => {
    // The secret contains characters that must be percent-encoded: %, +, :, space.
    const secret = 'a b+c:d%e-0123456789abcdef0123456789';
    await harness.service.clients.upsert({ ...orders, client_id: 'odd:client', client_secret: secret });
    const answer = await post('grant_type=client_credentials', {
      authorization: basic('odd:client', secret),
    });
    expect(answer.status).toBe(200);
  });

  it('A 12: private_key_jwt assertions that are replayed, expired, incomplete, foreign or of another alg get 401', async () => {
    const good = await assertion({});
    expect((await post(jwtBody(good))).status).toBe(200);
    expectInvalidClient(await post(jwtBody(good))); // the same jti again
    const nowS = Math.floor(Date.now() / 1000);
    expectInvalidClient(await post(jwtBody(await assertion({ exp: nowS - 60, iat: nowS - 120 }))));
    for (const claim of ['iss', 'sub', 'aud', 'exp', 'jti']) {
      expectInvalidClient(await post(jwtBody(await assertion({}, { omit: [claim] }))));
    }
    expectInvalidClient(await post(jwtBody(await assertion({ iss: 'orders' }))));
    expectInvalidClient(await post(jwtBody(await assertion({ aud: 'https://elsewhere.example.com' }))));
    expectInvalidClient(await post(jwtBody(await assertion({ exp: nowS + 3600 + 60 }))));
    // ES256 with a key the client did register: still refused, the client pinned EdDSA.
    expectInvalidClient(
      await post(jwtBody(await assertion({}, { key: billing.otherKey, alg: 'ES256', kid: 'billing-2' }))),
    );
    expectInvalidClient(await post(jwtBody('not.a.jwt')));
    expectInvalidClient(
      await post('grant_type=client_credentials&client_assertion_type=other&client_assertion=x.y.z'),
    );
  });

  it('A 12: the token endpoint URL is also an accepted audience', async () => {
    const answer = await post(jwtBody(await assertion({ aud: `${harness.url}/token` })));
    expect(answer.status).toBe(200);
  });

  it('A 13: a repeated parameter gets 400 invalid_request; an unknown one is ignored', async () => {
    expectError(
      await post('grant_type=client_credentials&grant_type=client_credentials', ordersAuth),
      400,
      'invalid_request',
    );
    expectError(
      await post('grant_type=client_credentials&scope=a&scope=b', ordersAuth),
      400,
      'invalid_request',
    );
    const answer = await post('grant_type=client_credentials&color=blue', ordersAuth);
    expect(answer.status).toBe(200);
  });

  it('A 14: a method other than POST gets 405 with Allow', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${harness.url}/token`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(((await response.json()) as { error: string }).error).toBe('method_not_allowed');
    }
  });

  it('A 15: password or an unregistered grant gets unsupported_grant_type / unauthorized_client', async () => {
    expectError(
      await post('grant_type=password&username=alice&password=x', ordersAuth),
      400,
      'unsupported_grant_type',
    );
    expectError(await post('grant_type=urn:made:up', ordersAuth), 400, 'unsupported_grant_type');
    expectError(await post('scope=inventory:reserve', ordersAuth), 400, 'invalid_request');
    expectError(
      await post('grant_type=client_credentials', {
        authorization: basic('reports', reports.client_secret as string),
      }),
      400,
      'unauthorized_client',
    );
  });

  it('A 23: client_credentials from a public client gets unauthorized_client', async () => {
    expectError(await post('grant_type=client_credentials&client_id=shop-web'), 400, 'unauthorized_client');
  });

  it('A 24: a scope beyond the registered ones or outside the grammar gets invalid_scope', async () => {
    expectError(
      await post('grant_type=client_credentials&scope=orders:admin', ordersAuth),
      400,
      'invalid_scope',
    );
    expectError(
      await post('grant_type=client_credentials&scope=inventory:reserve%20orders:admin', ordersAuth),
      400,
      'invalid_scope',
    );
    for (const scope of [
      'inventory:reserve%20%20payments:charge',
      '%20inventory:reserve',
      'a%22b',
      'a%5Cb',
      '%C3%A9',
    ]) {
      expectError(
        await post(`grant_type=client_credentials&scope=${scope}`, ordersAuth),
        400,
        'invalid_scope',
      );
    }
  });

  it('A 25: a resource that is not absolute, has a fragment or is not permitted gets invalid_target', async () => {
    for (const resource of [
      'payments',
      '/api',
      'https://payments.example.com/api#frag',
      'https://evil.example.com/',
    ]) {
      expectError(
        await post(`grant_type=client_credentials&resource=${encodeURIComponent(resource)}`, ordersAuth),
        400,
        'invalid_target',
      );
    }
    expectError(
      await post('grant_type=client_credentials&audience=orders', ordersAuth),
      400,
      'invalid_target',
    );
  });

  it('A 25: several permitted resources (RFC 8707) are all in aud', async () => {
    const answer = await post(
      'grant_type=client_credentials&audience=inventory&resource=https%3A%2F%2Fpayments.example.com%2Fapi',
      ordersAuth,
    );
    expect(answer.status).toBe(200);
    const payload = JSON.parse(
      Buffer.from((answer.body.access_token as string).split('.')[1] as string, 'base64url').toString(),
    );
    expect(payload.aud).toEqual(['https://payments.example.com/api', 'inventory']);
  });

  it('A 17: bodies that are not a form, malformed, oversized or missing get 400 invalid_request, never 500', async () => {
    expectError(
      await post('{"grant_type":"client_credentials"}', {
        ...ordersAuth,
        'content-type': 'application/json',
      }),
      400,
      'invalid_request',
    );
    expectError(
      await post('{"grant_type":', { ...ordersAuth, 'content-type': 'application/json' }),
      400,
      'invalid_request',
    );
    expectError(
      await post('grant_type=client_credentials', { ...ordersAuth, 'content-type': 'text/plain' }),
      400,
      'invalid_request',
    );
    expectError(
      await post('grant_type=client_credentials', { ...ordersAuth, 'content-type': 'application/xml' }),
      400,
      'invalid_request',
    );
    expectError(
      await post(`grant_type=client_credentials&pad=${'x'.repeat(70 * 1024)}`, ordersAuth),
      400,
      'invalid_request',
    );
    expectError(await post('', ordersAuth), 400, 'invalid_request');
    const response = await fetch(`${harness.url}/token`, { method: 'POST', headers: ordersAuth });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    const invalidUtf8 = await fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: { ...ordersAuth, 'content-type': FORM },
      body: Buffer.from([0x67, 0x3d, 0xff, 0xfe]),
    });
    expect(invalidUtf8.status).toBe(400);
  });

  it('A 17: an error description never echoes forbidden characters', async () => {
    const answer = await post('%22%5C%0A=1&%22%5C%0A=2&grant_type=client_credentials', ordersAuth);
    expectError(answer, 400, 'invalid_request');
    expect(answer.body.error_description).not.toMatch(/["\\\n]/);
  });

  it('an unknown path gets a JSON 404', async () => {
    const response = await fetch(`${harness.url}/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(((await response.json()) as { error: string }).error).toBe('not_found');
  });
});
