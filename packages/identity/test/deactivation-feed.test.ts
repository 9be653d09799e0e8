// Two directories on one database stand for two processes: the one that disables (`tessera users
// disable`, another instance) and the service that must end the user's sessions.
import { randomUUID } from 'node:crypto';
import { createDatabase } from '@tessera/storage/sql';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { databases, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import {
  type IdentitySchema,
  migrateIdentity,
  openUserDirectory,
  type UserDeactivatedEvent,
  type UserDirectory,
  type UserDirectoryOptions,
} from '../src/index.js';
import { fastHasher } from './helpers/hasher.js';

const minute = 60_000;
const hour = 60 * minute;

describe.each(databases)('deactivations across processes on $name', (fixture) => {
  let env: TestDatabase;
  let db: Kysely<unknown>;
  let clock = Date.parse('2030-01-01T00:00:00.000Z');
  const stops: Array<() => void> = [];

  const open = (options: Partial<UserDirectoryOptions> = {}): Promise<UserDirectory> =>
    openUserDirectory({
      db,
      hasher: fastHasher(),
      now: () => new Date(clock),
      deactivationPollMs: 0,
      ...options,
    });

  function listen(
    directory: UserDirectory,
    listener?: (event: UserDeactivatedEvent) => void | Promise<void>,
  ) {
    const events: UserDeactivatedEvent[] = [];
    stops.push(
      directory.onUserDeactivated((event) => {
        events.push(event);
        return listener?.(event);
      }),
    );
    return events;
  }

  beforeAll(async () => {
    env = await fixture.create();
    db = await createDatabase(env.config);
    await migrateIdentity(db);
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await (db as Kysely<IdentitySchema>).deleteFrom('user_deactivations').execute();
    await (db as Kysely<IdentitySchema>).deleteFrom('users').execute();
  });

  afterAll(async () => {
    await db?.destroy();
    await env?.cleanup();
  });

  it('records every disable and delete with the change', async () => {
    const admin = await open();
    const user = await admin.create('ann', 'ann-password');
    await admin.disable(user.id);
    await admin.enable(user.id);
    await admin.delete(user.id);
    const rows = await (db as Kysely<IdentitySchema>)
      .selectFrom('user_deactivations')
      .selectAll()
      .orderBy('reason', 'desc')
      .execute();
    expect(rows.map((row) => [row.user_id, row.reason, row.created_at])).toEqual([
      [user.id, 'disabled', new Date(clock).toISOString()],
      [user.id, 'deleted', new Date(clock).toISOString()],
    ]);
  });

  it('records nothing when the user does not exist, and the change fails as before', async () => {
    const admin = await open();
    await expect(admin.disable(randomUUID())).rejects.toMatchObject({ code: 'ERR_USER_NOT_FOUND' });
    await expect(admin.delete(randomUUID())).rejects.toMatchObject({ code: 'ERR_USER_NOT_FOUND' });
    expect(
      await (db as Kysely<IdentitySchema>).selectFrom('user_deactivations').selectAll().execute(),
    ).toEqual([]);
  });

  it("hands another process's disable and delete to the listeners once, as remote", async () => {
    const admin = await open();
    const service = await open();
    const local = listen(admin);
    const remote = listen(service);
    const bob = await admin.create('bob', 'bob-password');
    const carol = await admin.create('carol', 'carol-password');
    const disabled = await admin.disable(bob.id);
    clock += 1; // records are handed out in the order they were stamped
    await admin.delete(carol.id);

    expect(local.map((e) => [e.reason, e.userId, e.origin])).toEqual([
      ['disabled', bob.id, 'local'],
      ['deleted', carol.id, 'local'],
    ]);
    expect(remote).toEqual([]);
    expect(await service.pollDeactivations()).toBe(2);
    expect(remote).toEqual([
      { reason: 'disabled', userId: bob.id, user: disabled, origin: 'remote' },
      { reason: 'deleted', userId: carol.id, user: null, origin: 'remote' },
    ]);
    // Nothing twice, and the directory that made the changes does not hear them again.
    expect(await service.pollDeactivations()).toBe(0);
    expect(await admin.pollDeactivations()).toBe(0);
    expect(remote).toHaveLength(2);
    expect(local).toHaveLength(2);
  });

  it('hands out nothing for a user enabled again before the poll', async () => {
    const admin = await open();
    const service = await open();
    const remote = listen(service);
    const dan = await admin.create('dan', 'dan-password');
    await admin.disable(dan.id);
    await admin.enable(dan.id);
    expect(await service.pollDeactivations()).toBe(0);
    expect(remote).toEqual([]);
  });

  it('polls on its own while a listener is registered, and stops with the last one', async () => {
    const admin = await open();
    const service = await open({ deactivationPollMs: 20 });
    const remote = listen(service);
    const erin = await admin.create('erin', 'erin-password');
    await admin.disable(erin.id);
    await eventually(() => expect(remote).toHaveLength(1));
    expect(remote[0]).toMatchObject({ reason: 'disabled', userId: erin.id, origin: 'remote' });

    for (const stop of stops.splice(0)) stop();
    const frank = await admin.create('frank', 'frank-password');
    await admin.disable(frank.id);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(remote).toHaveLength(1);
  });

  it('looks back over the retention window when its first listener starts, and purges older records', async () => {
    const admin = await open();
    const gina = await admin.create('gina', 'gina-password');
    const hal = await admin.create('hal', 'hal-password');
    await admin.disable(gina.id);
    clock += 3 * hour;
    await admin.disable(hal.id);
    clock += 1 * hour;

    // A service started now, keeping two hours: gina's disable is past it, hal's is not.
    const service = await open({ deactivationRetentionMs: 2 * hour });
    const remote = listen(service);
    expect(await service.pollDeactivations()).toBe(1);
    expect(remote.map((e) => e.userId)).toEqual([hal.id]);
    const left = await (db as Kysely<IdentitySchema>)
      .selectFrom('user_deactivations')
      .select('user_id')
      .execute();
    expect(left.map((row) => row.user_id)).toEqual([hal.id]);
  });

  it('still hands out a record that commits late, stamped before the last poll', async () => {
    const service = await open();
    const admin = await open();
    const remote = listen(service);
    const ivy = await admin.create('ivy', 'ivy-password');
    expect(await service.pollDeactivations()).toBe(0);
    clock += minute;
    expect(await service.pollDeactivations()).toBe(0);
    // A writer whose clock is two minutes behind, or whose transaction took that long.
    await (db as Kysely<IdentitySchema>)
      .updateTable('users')
      .set({ disabled: 1 })
      .where('id', '=', ivy.id)
      .execute();
    await (db as Kysely<IdentitySchema>)
      .insertInto('user_deactivations')
      .values({
        id: randomUUID(),
        user_id: ivy.id,
        reason: 'disabled',
        created_at: new Date(clock - 2 * minute).toISOString(),
      })
      .execute();
    expect(await service.pollDeactivations()).toBe(1);
    expect(remote.map((e) => e.userId)).toEqual([ivy.id]);
  });

  it('tries a record again after a listener failed on it, reporting the failure', async () => {
    const errors: unknown[] = [];
    const service = await open({ onBackgroundError: (error) => errors.push(error) });
    const admin = await open();
    let failing = true;
    const remote = listen(service, () => {
      if (failing) throw new Error('session store down');
    });
    const jo = await admin.create('jo', 'jo-password');
    await admin.disable(jo.id);
    expect(await service.pollDeactivations()).toBe(0);
    expect(errors).toEqual([new Error('session store down')]);
    failing = false;
    expect(await service.pollDeactivations()).toBe(1);
    expect(remote.map((e) => e.userId)).toEqual([jo.id, jo.id]);
    expect(await service.pollDeactivations()).toBe(0);
  });

  it('tries its own disable again when a listener failed on it, the call having rejected', async () => {
    const admin = await open();
    let failing = true;
    const heard = listen(admin, () => {
      if (failing) throw new Error('session store down');
    });
    const kim = await admin.create('kim', 'kim-password');
    await expect(admin.disable(kim.id)).rejects.toThrow('session store down');
    failing = false;
    expect(await admin.pollDeactivations()).toBe(1);
    expect(heard.map((e) => [e.userId, e.origin])).toEqual([
      [kim.id, 'local'],
      [kim.id, 'remote'],
    ]);
  });

  it('pages through more records than one query reads, several stamped alike', async () => {
    const service = await open();
    const admin = await open();
    const remote = listen(service);
    const lee = await admin.create('lee', 'lee-password');
    await admin.disable(lee.id);
    // 700 more records of the same disabled user, in groups of 50 that share a stamp, so a page
    // ends inside a group and the next one must go on by id.
    const rows = Array.from({ length: 700 }, (_, i) => ({
      id: randomUUID(),
      user_id: lee.id,
      reason: 'disabled',
      created_at: new Date(clock - 60_000 + Math.floor(i / 50)).toISOString(),
    }));
    for (let i = 0; i < rows.length; i += 100) {
      await (db as Kysely<IdentitySchema>)
        .insertInto('user_deactivations')
        .values(rows.slice(i, i + 100))
        .execute();
    }
    expect(await service.pollDeactivations()).toBe(701);
    expect(new Set(remote.map((e) => e.userId))).toEqual(new Set([lee.id]));
    expect(await service.pollDeactivations()).toBe(0);
  });

  it('hands out a record whose stamp is no time once, and purges it', async () => {
    const service = await open();
    const remote = listen(service);
    const admin = await open();
    const max = await admin.create('max', 'max-password');
    await (db as Kysely<IdentitySchema>)
      .updateTable('users')
      .set({ disabled: 1 })
      .where('id', '=', max.id)
      .execute();
    await (db as Kysely<IdentitySchema>)
      .insertInto('user_deactivations')
      .values({ id: randomUUID(), user_id: max.id, reason: 'disabled', created_at: 'not a time' })
      .execute();
    expect(await service.pollDeactivations()).toBe(1);
    expect(remote.map((e) => e.userId)).toEqual([max.id]);
    expect(
      await (db as Kysely<IdentitySchema>).selectFrom('user_deactivations').selectAll().execute(),
    ).toEqual([]);
    expect(await service.pollDeactivations()).toBe(0);
  });

  it('tries its own disable again when the listener failed only after polls had moved on', async () => {
    const admin = await open();
    let failing = true;
    const heard = listen(admin, async (event) => {
      if (!failing || event.origin !== 'local') return;
      // While the listener works, time passes and polls move the window past the record.
      clock += 10 * minute;
      expect(await admin.pollDeactivations()).toBe(0);
      throw new Error('session store down');
    });
    const nina = await admin.create('nina', 'nina-password');
    await expect(admin.disable(nina.id)).rejects.toThrow('session store down');
    failing = false;
    expect(await admin.pollDeactivations()).toBe(1);
    expect(heard.map((e) => e.origin)).toEqual(['local', 'remote']);
  });

  it('keeps one timer when its only listener is swapped for another during a poll', async () => {
    const admin = await open();
    let clockReads = 0;
    const service = await open({
      deactivationPollMs: 40,
      // The feed reads the clock once per poll: counting reads counts polls.
      now: () => {
        clockReads += 1;
        return new Date(clock);
      },
    });
    let swapped = false;
    const stopSlow = service.onUserDeactivated(async () => {
      // The poll is under way, waiting for this listener: swap it for another.
      stopSlow();
      stops.push(service.onUserDeactivated(() => undefined));
      await new Promise((resolve) => setTimeout(resolve, 100));
      swapped = true;
    });
    const pat = await admin.create('pat', 'pat-password');
    await admin.disable(pat.id);
    await eventually(() => expect(swapped).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = clockReads;
    await new Promise((resolve) => setTimeout(resolve, 400));
    // About ten polls of 40 ms in 400 ms; a second timer left running would make it twenty.
    expect(clockReads - before).toBeGreaterThan(2);
    expect(clockReads - before).toBeLessThanOrEqual(12);
  });

  it('refuses poll and retention options it cannot honour', async () => {
    for (const options of [
      { deactivationPollMs: -1 },
      { deactivationPollMs: 1.5 },
      { deactivationRetentionMs: minute },
      { deactivationRetentionMs: Number.NaN },
    ]) {
      await expect(open(options)).rejects.toMatchObject({ code: 'ERR_INVALID_DIRECTORY_OPTIONS' });
    }
  });
});
