import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, RedisStore, SqliteStore } from '@tessera/storage';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Browser, parseForm } from '../../../test/support/browser.js';
import { sqlite, type TestDatabase } from '../../../test/support/databases.js';
import {
  deleteKeysWithPrefix,
  keysWithPrefix,
  REDIS_URL,
  randomPrefix,
} from '../../../test/support/redis.js';
import { reports, shopWeb } from '../../../test/support/token-service/clients.js';
import { type Harness, startService } from '../../../test/support/token-service/harness.js';
import { ALICE_PASSWORD, addAlice } from '../../../test/support/token-service/users.js';

// Nothing is written to the key-value store for a request that has not authenticated anything:
// the pending authorization travels sealed in the form, and a login refused by an existing lock
// counts nothing. Keys are counted in the real store: the rows of the SQLite file, the keys under
// the Redis prefix.

interface StoreFixture {
  readonly name: string;
  open(): KeyValueStore;
  count(): Promise<number>;
  cleanup(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-ts-anonymous-'));
let files = 0;
let currentFile = '';
const redisPrefix = randomPrefix('token-service:anonymous');

const stores: readonly StoreFixture[] = [
  {
    name: 'sqlite',
    open: () => {
      files += 1;
      currentFile = join(dir, `kv-${files}.db`);
      return new SqliteStore({ path: currentFile });
    },
    count: async () => {
      const db = new Database(currentFile, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM tessera_kv').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  },
  {
    name: 'redis',
    open: () => new RedisStore({ url: REDIS_URL, prefix: redisPrefix }),
    count: async () => (await keysWithPrefix(redisPrefix)).length,
    cleanup: () => deleteKeysWithPrefix(redisPrefix),
  },
];

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
const challenge = () =>
  createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');

describe.each(stores)('anonymous requests write nothing to the $name store (B108)', (fixture) => {
  let database: TestDatabase;
  let store: KeyValueStore;
  let harness: Harness;
  let offsetMs = 0;

  beforeAll(async () => {
    database = await sqlite.create();
  });
  afterAll(async () => {
    await database?.cleanup();
    await fixture.cleanup();
  });

  async function start(): Promise<void> {
    offsetMs = 0;
    store = fixture.open();
    harness = await startService(database, {
      store,
      clients: [shopWeb, reports],
      now: () => Date.now() + offsetMs,
    });
    if ((await harness.service.users.findByUsername('alice')) === null) await addAlice(harness.service);
  }
  afterEach(async () => {
    await harness?.stop();
    await store?.close();
    await deleteKeysWithPrefix(redisPrefix);
  });

  function authorizeUrl(overrides: Record<string, string> = {}): string {
    return `${harness.url}/authorize?${new URLSearchParams({
      client_id: 'shop-web',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: challenge(),
      code_challenge_method: 'S256',
      state: 'st',
      nonce: 'n',
      ...overrides,
    })}`;
  }

  async function loginForm(browser = new Browser(), overrides: Record<string, string> = {}) {
    const page = await browser.fetch(authorizeUrl(overrides));
    expect(page.status).toBe(200);
    return { browser, ...parseForm(await page.text()) };
  }

  it('stores no key for 40 anonymous GET /authorize, and the login still completes', async () => {
    await start();
    const before = await fixture.count();
    const forms = [];
    for (let i = 0; i < 40; i += 1) forms.push(await loginForm());
    expect(await fixture.count()).toBe(before);
    // Any of those pages still signs in, in its own browser.
    const { browser, action, fields } = forms[17] as (typeof forms)[number];
    const done = await browser.post(harness.url, action, {
      ...fields,
      username: 'alice',
      password: ALICE_PASSWORD,
      action: 'login',
    });
    expect(done.status).toBe(303);
    expect(new URL(done.headers.get('location') as string).searchParams.get('code')).toBeTruthy();
  });

  it('answers a tampered, made-up, oversized or expired interaction with a 400 page, never a 500', async () => {
    await start();
    const { browser, action, fields } = await loginForm();
    const sealed = fields.interaction as string;
    const credentials = { username: 'alice', password: ALICE_PASSWORD, action: 'login' };
    const flipped = `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`;
    for (const interaction of [flipped, sealed.slice(0, 40), 'not sealed', '', 'A'.repeat(40_000)]) {
      const refused = await browser.post(harness.url, action, { ...fields, interaction, ...credentials });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toContain('text/html');
      expect(await refused.text()).toContain('This form could not be read');
    }
    const { interaction: _dropped, ...withoutInteraction } = fields;
    const missing = await browser.post(harness.url, action, { ...withoutInteraction, ...credentials });
    expect(missing.status).toBe(400);
    offsetMs = 11 * 60_000;
    const late = await browser.post(harness.url, action, { ...fields, ...credentials });
    expect(late.status).toBe(400);
    expect(await late.text()).toContain('This form has expired');
  });

  it('refuses a form posted again after its step ended, or carried into another browser', async () => {
    await start();
    // Third-party client: login, then consent. The login form is spent once the consent page is out.
    const { browser, action, fields } = await loginForm(new Browser(), {
      client_id: 'reports',
      redirect_uri: 'https://reports.example.com/callback',
      scope: 'openid',
    });
    const credentials = { username: 'alice', password: ALICE_PASSWORD, action: 'login' };
    const consent = await browser.post(harness.url, action, { ...fields, ...credentials });
    expect(consent.status).toBe(200);
    const consentForm = parseForm(await consent.text());
    expect((await browser.post(harness.url, action, { ...fields, ...credentials })).status).toBe(403);
    // The consent form in another browser (no binding cookie, no SSO session): refused.
    const stolen = await new Browser().post(harness.url, consentForm.action, {
      ...consentForm.fields,
      action: 'approve',
    });
    expect(stolen.status).toBe(403);
    const approved = await browser.post(harness.url, consentForm.action, {
      ...consentForm.fields,
      action: 'approve',
    });
    expect(approved.status).toBe(303);
    // Done: the same consent form again opens to nothing.
    const again = await browser.post(harness.url, consentForm.action, {
      ...consentForm.fields,
      action: 'approve',
    });
    expect(again.status).toBe(403);
  });

  it('adds no key for a login refused by an existing address lock', async () => {
    await start();
    const { browser, action, fields } = await loginForm();
    // The address's 20 free attempts, then its lock.
    let last = 0;
    for (let i = 0; i < 20; i += 1) {
      const failed = await browser.post(harness.url, action, {
        ...fields,
        username: `nobody-${i}`,
        password: 'wrong',
        action: 'login',
      });
      last = failed.status;
    }
    expect(last).toBe(401);
    const before = await fixture.count();
    for (let i = 0; i < 5; i += 1) {
      const refused = await browser.post(harness.url, action, {
        ...fields,
        username: `fresh-${i}`,
        password: 'wrong',
        action: 'login',
      });
      expect(refused.status).toBe(429);
    }
    expect(await fixture.count()).toBe(before);
  });
});
