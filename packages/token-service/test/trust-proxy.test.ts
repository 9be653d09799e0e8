import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm } from '../../../test/support/browser.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import { shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';

// Behind a proxy every request comes from the proxy's address. With trustProxy the login's
// per-address limit counts the client named by X-Forwarded-For (only when the peer is listed);
// without it the header is ignored, so nobody can pick a fresh address per guess.

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';

async function loginForm(harness: Harness) {
  const browser = new Browser();
  const params = new URLSearchParams({
    client_id: 'shop-web',
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid',
    code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const page = await browser.fetch(`${harness.url}/authorize?${params}`);
  expect(page.status).toBe(200);
  return { browser, ...parseForm(await page.text()) };
}

/** One failed login for a new username, as `client` behind the proxy; the answer's status. */
async function failFrom(harness: Harness, client: string, username: string): Promise<number> {
  const { browser, action, fields } = await loginForm(harness);
  const answer = await browser.fetch(new URL(action, harness.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
    body: new URLSearchParams({ ...fields, username, password: 'wrong', action: 'login' }).toString(),
  });
  await answer.arrayBuffer();
  return answer.status;
}

/** The address's 20 free attempts, each for another username, so only the address is locked. */
async function lockAddress(harness: Harness, client: string): Promise<void> {
  for (let i = 0; i < 20; i += 1) expect(await failFrom(harness, client, `guess-${client}-${i}`)).toBe(401);
  expect(await failFrom(harness, client, `guess-${client}-last`)).toBe(429);
}

describe('trustProxy and the per-address login limit (docs/security.md H106)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await sqlite.create();
  });
  afterAll(async () => {
    await database?.cleanup();
  });

  it("with trustProxy ['127.0.0.1'], two clients behind the proxy have their own budgets", async () => {
    const harness = await startService(database, { clients: [shopWeb], trustProxy: ['127.0.0.1'] });
    try {
      await lockAddress(harness, '203.0.113.1');
      expect(await failFrom(harness, '203.0.113.2', 'someone')).toBe(401);
      // A chain: the client is the first address from the right that is not a trusted proxy.
      expect(await failFrom(harness, '198.51.100.9, 203.0.113.1', 'someone-else')).toBe(429);
    } finally {
      await harness.stop();
    }
  });

  it('without trustProxy, X-Forwarded-For is ignored: the peer is the client', async () => {
    const harness = await startService(database, { clients: [shopWeb] });
    try {
      await lockAddress(harness, '203.0.113.1');
      expect(await failFrom(harness, '203.0.113.2', 'someone')).toBe(429);
    } finally {
      await harness.stop();
    }
  });

  it('trusts only the listed peers: a list without 127.0.0.1 ignores the header from it', async () => {
    const harness = await startService(database, { clients: [shopWeb], trustProxy: ['10.0.0.0/8', '::1'] });
    try {
      await lockAddress(harness, '203.0.113.1');
      expect(await failFrom(harness, '203.0.113.2', 'someone')).toBe(429);
    } finally {
      await harness.stop();
    }
  });

  it('refuses a trustProxy entry that is not an address or a CIDR block', async () => {
    for (const entry of ['loopback', '*', '10.0.0.0/33', '']) {
      await expect(startService(database, { clients: [shopWeb], trustProxy: [entry] })).rejects.toMatchObject(
        {
          code: 'ERR_INVALID_TOKEN_SERVICE_OPTIONS',
          message: expect.stringContaining('trustProxy'),
        },
      );
    }
  });
});
