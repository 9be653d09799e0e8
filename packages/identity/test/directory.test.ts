import { createDatabase, listAppliedMigrations } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import {
  IDENTITY_NAMESPACE,
  type IdentitySchema,
  migrateIdentity,
  openUserDirectory,
  type UserDeactivatedEvent,
  type UserDirectory,
} from '../src/index.js';
import { fastHasher, rejectionOf } from './helpers/hasher.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(databases)('UserDirectory on $name', (fixture) => {
  let env: TestDatabase;
  let db: Kysely<unknown>;
  let directory: UserDirectory;
  let clock = Date.parse('2030-01-01T00:00:00.000Z');

  beforeAll(async () => {
    env = await fixture.create();
    db = await createDatabase(env.config);
    await migrateIdentity(db);
    directory = await openUserDirectory({ db, hasher: fastHasher(), now: () => new Date(clock) });
  });

  afterAll(async () => {
    await db?.destroy();
    await env?.cleanup();
  });

  it('migrates under the identity namespace, once', async () => {
    const applied = await listAppliedMigrations(db, IDENTITY_NAMESPACE);
    expect(applied.map((m) => m.name)).toEqual(['001_users', '002_user_deactivations']);
    expect((await migrateIdentity(db)).names).toEqual([]);
  });

  it('creates a user with a random UUID, display name, claims and timestamps, never exposing the hash', async () => {
    const user = await directory.create('Alice', 'alice-password', {
      name: 'Alice',
      email: 'alice@example.com',
    });
    expect(user.id).toMatch(UUID_V4);
    expect(user).toEqual({
      id: user.id,
      username: 'Alice',
      claims: { name: 'Alice', email: 'alice@example.com' },
      disabled: false,
      createdAt: new Date(clock),
      updatedAt: new Date(clock),
    });
    expect(JSON.stringify(user)).not.toContain('argon2');
    expect(await directory.findById(user.id)).toEqual(user);

    const typed = db as Kysely<IdentitySchema>;
    const row = await typed
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(row.username_key).toBe('alice');
  });

  it('finds a user by any case or compatibility form of the username, and refuses a duplicate', async () => {
    const bob = await directory.create('Bob', 'bob-password');
    expect((await directory.findByUsername('bob'))?.id).toBe(bob.id);
    expect((await directory.findByUsername('BOB'))?.id).toBe(bob.id);
    expect((await directory.findByUsername('\uff22\uff4f\uff42'))?.id).toBe(bob.id); // fullwidth "Ｂｏｂ"
    expect(await directory.findByUsername('bobby')).toBeNull();
    expect(await directory.findByUsername('')).toBeNull();
    expect(await directory.findById('no-such-id')).toBeNull();

    for (const again of ['bob', 'BOB', '\uff42\uff4f\uff42']) {
      const error = await rejectionOf(directory.create(again, 'another-password'));
      expect(error).toMatchObject({ code: 'ERR_USER_EXISTS', status: 409 });
    }
  });

  it('refuses invalid usernames and claims', async () => {
    for (const name of ['', ' alice2', 'al ice', 'tab\there', 'zero\u200bwidth', 'x'.repeat(65)]) {
      expect(await rejectionOf(directory.create(name, 'password-1'))).toMatchObject({
        code: 'ERR_USERNAME_INVALID',
        status: 400,
      });
    }
    expect((await directory.create('x'.repeat(64), 'password-1')).username).toHaveLength(64);
    for (const claims of [
      { roles: ['admin'] },
      { email_verified: 'yes' },
      { name: 7 },
      { address: { planet: 'Mars' } },
    ]) {
      expect(await rejectionOf(directory.create('carol', 'password-1', claims as never))).toMatchObject({
        code: 'ERR_CLAIMS_INVALID',
        status: 400,
      });
    }
    expect(await directory.findByUsername('carol')).toBeNull();
    expect(await rejectionOf(directory.create('carol', 'short'))).toMatchObject({
      code: 'ERR_PASSWORD_POLICY',
    });
  });

  it('keeps unicode usernames and claims intact', async () => {
    const user = await directory.create('Zoë', 'zoë-password', {
      name: 'Zoë Ångström',
      email_verified: true,
      address: { locality: 'Malmö', country: 'SE' },
    });
    const found = await directory.findByUsername('ZOË');
    expect(found).toEqual(user);
    expect(found?.claims).toEqual({
      name: 'Zoë Ångström',
      email_verified: true,
      address: { locality: 'Malmö', country: 'SE' },
    });
  });

  it('lists users a page at a time, in username order', async () => {
    const names: string[] = [];
    for (let i = 0; i < 7; i += 1) names.push(`page-user-${i}`);
    for (const name of [...names].reverse()) await directory.create(name, 'password-1');
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await directory.list(after === undefined ? { limit: 3 } : { limit: 3, after });
      expect(page.users.length).toBeLessThanOrEqual(3);
      seen.push(...page.users.map((u) => u.username));
      after = page.next ?? undefined;
      pages += 1;
    } while (after !== undefined && pages < 20);
    expect(seen.filter((n) => n.startsWith('page-user-'))).toEqual(names);
    const all = await directory.list({ limit: 1000 });
    expect(all.next).toBeNull();
    expect(all.users.map((u) => u.username)).toEqual(seen);
    await expect(directory.list({ limit: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_LIST_OPTIONS' });
  });

  it('changes a password and bumps updated_at', async () => {
    const user = await directory.create('dave', 'old-password');
    clock += 60_000;
    const changed = await directory.setPassword(user.id, 'new-password');
    expect(changed.updatedAt).toEqual(new Date(clock));
    expect(changed.createdAt).toEqual(user.createdAt);
    await expect(
      directory.authenticate({ username: 'dave', password: 'old-password', address: '10.0.0.1' }),
    ).rejects.toMatchObject({
      code: 'ERR_CREDENTIALS_INVALID',
    });
    expect(
      (await directory.authenticate({ username: 'dave', password: 'new-password', address: '10.0.0.1' })).id,
    ).toBe(user.id);
    expect(await rejectionOf(directory.setPassword(user.id, 'tiny'))).toMatchObject({
      code: 'ERR_PASSWORD_POLICY',
    });
  });

  it('replaces claims', async () => {
    const user = await directory.create('erin', 'erin-password', { name: 'Erin' });
    const changed = await directory.setClaims(user.id, { name: 'Erin E.', locale: 'en-GB' });
    expect(changed.claims).toEqual({ name: 'Erin E.', locale: 'en-GB' });
    expect((await directory.findById(user.id))?.claims).toEqual(changed.claims);
  });

  it('disables and enables a user, telling listeners on disable and delete', async () => {
    const events: UserDeactivatedEvent[] = [];
    const stop = directory.onUserDeactivated((event) => {
      events.push(event);
    });
    const user = await directory.create('frank', 'frank-password');
    const disabled = await directory.disable(user.id);
    expect(disabled.disabled).toBe(true);
    expect(events).toEqual([{ reason: 'disabled', userId: user.id, user: disabled, origin: 'local' }]);
    const enabled = await directory.enable(user.id);
    expect(enabled.disabled).toBe(false);
    await directory.delete(user.id);
    expect(events.map((e) => [e.reason, e.userId, e.user?.id, e.origin])).toEqual([
      ['disabled', user.id, user.id, 'local'],
      ['deleted', user.id, user.id, 'local'],
    ]);
    expect(await directory.findById(user.id)).toBeNull();
    stop();
    const other = await directory.create('frank2', 'frank-password');
    await directory.disable(other.id);
    expect(events).toHaveLength(2);
  });

  it('waits for every listener and reports a failing one, leaving the user disabled', async () => {
    const ended: string[] = [];
    const stopSlow = directory.onUserDeactivated(async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ended.push(event.userId);
    });
    const stopFailing = directory.onUserDeactivated(() => {
      throw new Error('session store down');
    });
    const user = await directory.create('grace', 'grace-password');
    await expect(directory.disable(user.id)).rejects.toThrow('session store down');
    expect(ended).toEqual([user.id]);
    expect((await directory.findById(user.id))?.disabled).toBe(true);
    stopSlow();
    stopFailing();
  });

  it('answers ERR_USER_NOT_FOUND for administrative operations on a missing id', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const run of [
      () => directory.disable(missing),
      () => directory.enable(missing),
      () => directory.delete(missing),
      () => directory.setPassword(missing, 'password-1'),
      () => directory.setClaims(missing, {}),
    ]) {
      expect(await rejectionOf(run())).toMatchObject({ code: 'ERR_USER_NOT_FOUND', status: 404 });
    }
  });

  it('re-hashes a password at login when the parameters changed', async () => {
    const user = await directory.create('heidi', 'heidi-password');
    const typed = db as Kysely<IdentitySchema>;
    const before = (
      await typed
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
    ).password_hash;
    const stronger = await openUserDirectory({ db, hasher: fastHasher({ memoryCost: 512 }) });
    await stronger.authenticate({ username: 'heidi', password: 'heidi-password', address: '10.0.0.2' });
    const after = (
      await typed
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
    ).password_hash;
    expect(after).not.toBe(before);
    expect(after).toContain('m=512,');
    expect(stronger.hasher.needsRehash(after)).toBe(false);
    // The old directory still verifies the new hash (parameters are read from the string).
    expect(
      (await directory.authenticate({ username: 'heidi', password: 'heidi-password', address: '10.0.0.2' }))
        .id,
    ).toBe(user.id);
  });
});
