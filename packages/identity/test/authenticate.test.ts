import { MemoryStore } from '@tessera/storage';
import { createDatabase } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import {
  IdentityError,
  LoginRateLimiter,
  migrateIdentity,
  openUserDirectory,
  type UserDirectory,
} from '../src/index.js';
import { type CountingHasher, countingHasher, rejectionOf } from './helpers/hasher.js';

describe.each(databases)('authenticate on $name', (fixture) => {
  let env: TestDatabase;
  let db: Kysely<unknown>;
  let hasher: CountingHasher;
  let directory: UserDirectory;
  let now = Date.parse('2030-01-01T00:00:00Z');
  let store: MemoryStore;

  beforeAll(async () => {
    env = await fixture.create();
    db = await createDatabase(env.config);
    await migrateIdentity(db);
  });

  beforeEach(async () => {
    hasher = countingHasher();
    store = new MemoryStore({ now: () => now });
    const rateLimiter = new LoginRateLimiter({ store, now: () => now });
    directory = await openUserDirectory({ db, hasher, rateLimiter });
  });

  afterAll(async () => {
    await store?.close();
    await db?.destroy();
    await env?.cleanup();
  });

  const login = (username: string, password: string, address = '192.0.2.1') =>
    directory.authenticate({ username, password, address });

  it('returns the user for the right password, under any case of the username', async () => {
    const alice = await directory.create('Alice', 'alice-password', { name: 'Alice' });
    expect(await login('alice', 'alice-password')).toEqual(alice);
    expect(await login('ALICE', 'alice-password')).toEqual(alice);
  });

  it('answers an unknown user, a wrong password and a disabled user identically, after the same work', async () => {
    const bob = await directory.create('bob', 'bob-password');
    const disabled = await directory.create('mallory', 'mallory-password');
    await directory.disable(disabled.id);

    const cases = [
      () => login('nobody', 'bob-password', '192.0.2.10'),
      () => login('bob', 'wrong-password', '192.0.2.11'),
      () => login('mallory', 'mallory-password', '192.0.2.12'), // right password, disabled
      () => login('', 'x', '192.0.2.13'),
      () => login('x'.repeat(10_000), 'x', '192.0.2.14'),
      () => login('bob', 'b'.repeat(100_000), '192.0.2.15'),
    ];
    const answers = [];
    for (const run of cases) {
      const before = hasher.calls.verify;
      answers.push(await rejectionOf(run()));
      // Exactly one argon2 verification each (a dummy hash for unknown users); the over-long
      // password is refused by the hasher without hashing, but still goes through one call.
      expect(hasher.calls.verify - before).toBe(1);
    }
    for (const answer of answers) {
      expect(answer).toEqual({
        name: 'IdentityError',
        code: 'ERR_CREDENTIALS_INVALID',
        status: 401,
        expose: true,
        message: 'invalid username or password',
        retryAfterSeconds: undefined,
        json: JSON.stringify({
          error: { code: 'ERR_CREDENTIALS_INVALID', message: 'invalid username or password' },
        }),
      });
    }
    // Nothing a login answers depends on which case it was.
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(bob.disabled).toBe(false);
  });

  it('answers ERR_CREDENTIALS_INVALID for inputs of the wrong type, without crashing', async () => {
    for (const input of [
      { username: 1, password: 'p', address: 'a' },
      { username: 'bob', password: null, address: 'a' },
      { username: 'bob', password: 'p', address: undefined },
      { username: ['bob'], password: ['p'], address: 'a' },
    ]) {
      const answer = await rejectionOf(directory.authenticate(input as never));
      expect(answer).toMatchObject({
        code: 'ERR_CREDENTIALS_INVALID',
        message: 'invalid username or password',
      });
    }
  });

  it('checks the lock before any hashing, for known and unknown users alike', async () => {
    await directory.create('carol', 'carol-password');
    for (const username of ['carol', 'no-such-user']) {
      for (let i = 0; i < 5; i += 1)
        await expect(login(username, 'wrong', `198.51.100.${i}`)).rejects.toThrow();
      const before = { ...hasher.calls };
      for (let i = 0; i < 20; i += 1) {
        const answer = await rejectionOf(login(username, 'carol-password', `198.51.100.${50 + i}`));
        expect(answer).toMatchObject({ code: 'ERR_LOGIN_RATE_LIMITED', status: 429, retryAfterSeconds: 1 });
      }
      expect(hasher.calls).toEqual(before);
    }
    now += 1000;
    expect((await login('carol', 'carol-password', '198.51.100.99')).username).toBe('carol');
  });

  it("counts a disabled user's correct password as a failure", async () => {
    const dave = await directory.create('dave', 'dave-password');
    await directory.disable(dave.id);
    for (let i = 0; i < 5; i += 1) {
      await expect(login('dave', 'dave-password', `203.0.113.${i}`)).rejects.toMatchObject({
        code: 'ERR_CREDENTIALS_INVALID',
      });
    }
    await expect(login('dave', 'dave-password', '203.0.113.200')).rejects.toMatchObject({
      code: 'ERR_LOGIN_RATE_LIMITED',
    });
  });

  it('resets the username count after a successful login', async () => {
    await directory.create('erin', 'erin-password');
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 4; i += 1)
        await expect(login('erin', 'wrong', `192.0.2.${100 + i}`)).rejects.toThrow(IdentityError);
      expect((await login('erin', 'erin-password', '192.0.2.120')).username).toBe('erin');
    }
  });

  it('works without a rate limiter', async () => {
    const plain = await openUserDirectory({ db, hasher });
    await plain.create('frank', 'frank-password');
    for (let i = 0; i < 10; i += 1)
      await expect(
        plain.authenticate({ username: 'frank', password: 'nope', address: 'a' }),
      ).rejects.toThrow();
    expect(
      (await plain.authenticate({ username: 'frank', password: 'frank-password', address: 'a' })).username,
    ).toBe('frank');
  });
});
