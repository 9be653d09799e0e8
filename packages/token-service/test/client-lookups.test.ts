import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm } from '../../../test/support/browser.js';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { reports, shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { StatementLog } from '../../../test/support/token-service/statements.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

const CLIENT_READS = ['oauth_clients'];

// The client of an /authorize request is read once per request, and the login form's once per
// POST: the loaded client is passed along, never looked up again. The client cache is off, so
// every lookup is a SELECT the statement log sees.
describe.each(databases)('one client lookup per /authorize and /login request on $name', (fixture) => {
  let database: TestDatabase;
  let harness: Harness;
  const log = new StatementLog();

  beforeAll(async () => {
    database = await fixture.create();
    harness = await startService(database, {
      clients: [shopWeb, reports],
      clientCacheTtlMs: 0,
      deactivationPollMs: 0,
      plugins: [log],
    });
    await addAlice(harness.service);
  });
  afterAll(async () => {
    await harness?.stop();
    await database?.cleanup();
  });

  function authorizeUrl(clientId: string, redirectUri: string): string {
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    return `${harness.url}/authorize?${new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st',
    }).toString()}`;
  }

  /** GET /authorize, then POST its login form with alice's credentials (or `password`). */
  async function throughLogin(clientId: string, redirectUri: string, password = ALICE_PASSWORD) {
    const browser = new Browser();
    const url = authorizeUrl(clientId, redirectUri);
    let page: Response | undefined;
    const atAuthorize = await log.during(async () => {
      page = await browser.fetch(url);
    }, CLIENT_READS);
    expect(page?.status).toBe(200);
    const { action, fields } = parseForm(await (page as Response).text());
    let answer: Response | undefined;
    const atLogin = await log.during(async () => {
      answer = await browser.post(url, action, { ...fields, username: 'alice', password, action: 'login' });
    }, CLIENT_READS);
    return { atAuthorize, atLogin, answer: answer as Response, browser };
  }

  it('a first-party client: one read at /authorize, one at /login, which redirects with a code', async () => {
    const { atAuthorize, atLogin, answer } = await throughLogin(
      'shop-web',
      'http://127.0.0.1:8080/auth/callback',
    );
    expect(atAuthorize).toEqual(['select oauth_clients']);
    expect(atLogin).toEqual(['select oauth_clients']);
    expect(answer.status).toBe(303);
    expect(new URL(answer.headers.get('location') as string).searchParams.get('code')).toBeTruthy();
  });

  it('a third-party client: one read at /login, which shows the consent page with its name', async () => {
    const { atLogin, answer } = await throughLogin('reports', 'https://reports.example.com/callback');
    expect(atLogin).toEqual(['select oauth_clients']);
    expect(answer.status).toBe(200);
    const page = await answer.text();
    expect(page).toContain('name="action" value="approve"');
    expect(page).toContain('reports');
  });

  it('a wrong password: one read at /login, and the login page again', async () => {
    const { atLogin, answer } = await throughLogin(
      'shop-web',
      'http://127.0.0.1:8080/auth/callback',
      'not-her-password',
    );
    expect(atLogin).toEqual(['select oauth_clients']);
    expect(answer.status).toBe(401);
  });
});
