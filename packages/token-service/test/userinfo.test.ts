import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { rawRequest } from '../../../test/support/raw-http.js';
import { shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { addAlice } from '../../../test/support/token-service/users.js';

// /userinfo over real HTTP: the token in the header (RFC 6750 2.1) or a form body (2.2), one way
// at a time, and only the canonical spelling of a token (core's verifier, as everywhere else).
// One dialect: nothing here depends on SQL beyond looking the user up.

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The token with the last signature character's lowest unused bit set: the same bytes, decoded. */
function twinOf(token: string): string {
  const last = alphabet.indexOf(token.slice(-1));
  const twin = `${token.slice(0, -1)}${alphabet[last | 1]}`;
  const signature = (t: string) => Buffer.from(t.split('.')[2] as string, 'base64url');
  expect(twin).not.toBe(token);
  expect(signature(twin).equals(signature(token))).toBe(true);
  return twin;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly challenge: string | null;
}

async function answerOf(response: Response): Promise<Answer> {
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    challenge: response.headers.get('www-authenticate'),
  };
}

describe('/userinfo (docs/security.md C121)', () => {
  let database: TestDatabase;
  let harness: Harness;
  let aliceId: string;
  let token: string;

  beforeAll(async () => {
    database = await sqlite.create();
    harness = await startService(database, { clients: [shopWeb] });
    aliceId = await addAlice(harness.service);
    ({ token } = harness.context.accessTokens.issue({
      subject: aliceId,
      clientId: 'shop-web',
      audience: ['orders'],
      scopes: ['openid', 'profile', 'email'],
    }));
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  const withHeader = async (value: string, path = '/userinfo') =>
    answerOf(await fetch(`${harness.url}${path}`, { headers: { authorization: `Bearer ${value}` } }));

  const withBody = async (fields: string, headers: Record<string, string> = {}) =>
    answerOf(
      await fetch(`${harness.url}/userinfo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: fields,
      }),
    );

  // RFC 6750 3: the challenge is the protocol; the body is every part's JSON with the code.
  const codeOf = (answer: Answer) => (answer.body.error as { code?: unknown } | undefined)?.code;

  const expectInvalidToken = (answer: Answer) => {
    expect(answer.status).toBe(401);
    expect(codeOf(answer)).toMatch(/^ERR_JWT?S?_/);
    expect(answer.challenge).toMatch(/^Bearer realm="tessera", error="invalid_token"/);
  };

  const expectInvalidRequest = (answer: Answer) => {
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('ERR_AUTH_INVALID_REQUEST');
    expect(answer.challenge).toMatch(/^Bearer realm="tessera", error="invalid_request"/);
  };

  it('answers the token in the Authorization header (the control)', async () => {
    const answer = await withHeader(token);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ sub: aliceId, name: 'Alice', email: 'alice@example.com' });
  });

  it('answers the token in a form body of a POST (RFC 6750 2.2)', async () => {
    const answer = await withBody(new URLSearchParams({ access_token: token }).toString());
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ sub: aliceId, name: 'Alice', email: 'alice@example.com' });
  });

  it('refuses a token in both the header and the body: 400 invalid_request', async () => {
    expectInvalidRequest(
      await withBody(new URLSearchParams({ access_token: token }).toString(), {
        authorization: `Bearer ${token}`,
      }),
    );
  });

  it('refuses access_token sent twice in the body, or in the query string: 400 invalid_request', async () => {
    expectInvalidRequest(await withBody(`access_token=${token}&access_token=${token}`));
    expectInvalidRequest(await withHeader(token, `/userinfo?access_token=${token}`));
    const queryOnly = await answerOf(await fetch(`${harness.url}/userinfo?access_token=${token}`));
    expectInvalidRequest(queryOnly);
  });

  it('refuses two Authorization headers: 400 invalid_request', async () => {
    const answer = await rawRequest(harness.url, '/userinfo', {
      headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] },
    });
    expect(answer.status).toBe(400);
  });

  it('refuses a body token that is not a token, and answers a POST without one 401 with no error', async () => {
    expectInvalidToken(await withBody('access_token=not%20a%20token'));
    const none = await withBody('other=1');
    expect(none.status).toBe(401);
    expect(none.challenge).toBe('Bearer realm="tessera"');
    expect(codeOf(none)).toBe('ERR_AUTH_REQUIRED');
  });

  it('refuses another spelling of the token: == appended, or a last signature character with unused bits set', async () => {
    for (const spelling of [`${token}==`, `${token}=`, twinOf(token)]) {
      expectInvalidToken(await withHeader(spelling));
      expectInvalidToken(await withBody(new URLSearchParams({ access_token: spelling }).toString()));
    }
    // The token itself is still good.
    expect((await withHeader(token)).status).toBe(200);
  });
});
