import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { Browser, signIn } from './support/browser.js';
import { basic, reports, shopWeb } from './support/clients.js';
import { type Harness, startService } from './support/harness.js';
import { ALICE_PASSWORD, addAlice } from './support/users.js';

// Refresh-token rotation as third-party clients meet it: a refused refresh must not burn the grant.

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const REPORTS_REDIRECT = 'https://reports.example.com/callback';
const REPORTS_SECRET = reports.client_secret as string;

interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly id_token?: string;
}

const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

describe.each(databases)('refresh-token rotation on $name', (fixture) => {
  let database: TestDatabase;
  let strict: Harness;
  const offsetMs = 0;
  const now = () => Date.now() + offsetMs;

  beforeAll(async () => {
    database = await fixture.create();
    const clients = [
      shopWeb,
      // A confidential client of the browser flow (first-party: no consent page in the way).
      {
        ...reports,
        first_party: true,
        grant_types: ['authorization_code' as const, 'refresh_token' as const],
      },
    ];
    strict = await startService(database, { clients, now });
    await addAlice(strict.service);
  });
  afterAll(async () => {
    await strict?.stop();
    await database?.cleanup();
  });

  type Who = 'public' | 'confidential';
  const clientOf = (who: Who) =>
    who === 'public'
      ? { id: 'shop-web', redirect: REDIRECT, fields: { client_id: 'shop-web' }, authorization: undefined }
      : {
          id: 'reports',
          redirect: REPORTS_REDIRECT,
          fields: {},
          authorization: basic('reports', REPORTS_SECRET),
        };

  function token(harness: Harness, who: Who, fields: Record<string, string>): Promise<Response> {
    const { authorization, fields: own } = clientOf(who);
    return fetch(`${harness.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: new URLSearchParams({ ...own, ...fields }).toString(),
    });
  }

  async function signedIn(harness: Harness, who: Who): Promise<Tokens> {
    const { id, redirect } = clientOf(who);
    const verifier = randomBytes(32).toString('base64url');
    const params = new URLSearchParams({
      client_id: id,
      redirect_uri: redirect,
      response_type: 'code',
      scope: 'openid',
      code_challenge: challengeOf(verifier),
      code_challenge_method: 'S256',
      state: 'st',
      nonce: 'n',
    });
    const browser = new Browser();
    const { location } = await signIn(browser, `${harness.url}/authorize?${params}`, 'alice', ALICE_PASSWORD);
    const code = location.searchParams.get('code');
    const response = await token(harness, who, {
      grant_type: 'authorization_code',
      code: code as string,
      code_verifier: verifier,
      redirect_uri: redirect,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Tokens;
  }

  const refresh = (harness: Harness, who: Who, refreshToken: string, extra: Record<string, string> = {}) =>
    token(harness, who, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });

  async function errorOf(response: Response): Promise<string> {
    return ((await response.json()) as { error: string }).error;
  }

  it('a refresh refused for its resource, audience or scope leaves the refresh token usable', async () => {
    const tokens = await signedIn(strict, 'public');
    const badResource = await refresh(strict, 'public', tokens.refresh_token, {
      resource: 'https://elsewhere.example.com/api',
    });
    expect(badResource.status).toBe(400);
    expect(await errorOf(badResource)).toBe('invalid_target');
    const badAudience = await refresh(strict, 'public', tokens.refresh_token, { audience: 'payments' });
    expect(await errorOf(badAudience)).toBe('invalid_target');
    const notAResource = await refresh(strict, 'public', tokens.refresh_token, { resource: 'not a uri' });
    expect(await errorOf(notAResource)).toBe('invalid_target');
    const wider = await refresh(strict, 'public', tokens.refresh_token, { scope: 'openid orders:write' });
    expect(await errorOf(wider)).toBe('invalid_scope');
    // The same refresh token still works, once.
    const good = await refresh(strict, 'public', tokens.refresh_token, { audience: 'orders' });
    expect(good.status).toBe(200);
    const next = (await good.json()) as Tokens;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect((await refresh(strict, 'public', next.refresh_token)).status).toBe(200);
  });
});
