import { TesseraTypeError } from '@tessera/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionError } from '../src/errors.js';
import { hashSessionId, isWellFormedSessionId } from '../src/lib/ids.js';
import { createSessionManager, type SessionManager } from '../src/manager.js';
import { countingStore, makeStore, manualClock, type StoreFixture } from './support/stores.js';

interface Data {
  role?: string;
  cart?: string[];
  theme?: string;
  [key: string]: unknown;
}

const minute = 60_000;

// The same suite on every store: what the manager promises must not depend on the backend.
describe.each(['memory', 'sqlite', 'redis'] as const)('session manager on %s', (kind) => {
  let clock: ReturnType<typeof manualClock>;
  let fixture: StoreFixture;
  let manager: SessionManager<Data>;

  beforeEach(async () => {
    clock = manualClock();
    fixture = await makeStore(kind, clock.now);
    manager = createSessionManager<Data>({ store: fixture.store, now: clock.now });
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  it('creates 256-bit base64url ids, a new one every time, and reads them back', async () => {
    const a = await manager.create('alice', { role: 'user' }, { userAgent: 'Firefox', address: '10.0.0.1' });
    const b = await manager.create('alice', { role: 'user' });
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.id, 'base64url')).toHaveLength(32);
    expect(a.id).not.toBe(b.id);
    const read = await manager.get(a.id);
    expect(read?.userId).toBe('alice');
    expect(read?.data).toEqual({ role: 'user' });
    expect(read?.idHash).toBe(hashSessionId(a.id));
    expect(read?.userAgent).toBe('Firefox');
    // A session logged or serialised shows neither the cookie's id nor the CSRF secret.
    const shown = `${JSON.stringify(read)} ${JSON.stringify(a.session)} ${Object.values(read ?? {}).join(' ')}`;
    expect(shown).not.toContain(a.id);
    expect(shown).not.toContain('csrfSecret');
    expect(await fixture.dump()).toContain('csrfSecret');
  });

  it('stores sessions under a hash of the id: a dump of the store holds no usable cookie value', async () => {
    const { id } = await manager.create('alice', { role: 'user' });
    const dump = await fixture.dump();
    expect(dump).toContain(hashSessionId(id));
    expect(dump).not.toContain(id);
  });

  it('getByHash reads a session by its store key, read only, with the same expiry; a hash is no cookie', async () => {
    const { id, session } = await manager.create('alice', { role: 'user' });
    const counting = countingStore(fixture.store);
    const spied = createSessionManager<Data>({ store: counting.store, now: clock.now });
    const found = await spied.getByHash(session.idHash);
    expect(found?.userId).toBe('alice');
    expect(found?.data).toEqual({ role: 'user' });
    expect(counting.writes()).toBe(0);
    // The hash presented where a cookie's id goes hashes again and names nothing.
    expect(await spied.get(session.idHash)).toBeNull();
    expect(await spied.resolve(session.idHash)).toBeNull();
    // And the raw id is no hash: getByHash never hashes what it is given.
    expect(await spied.getByHash(id)).toBeNull();
    for (const bad of ['', 'x', 'a'.repeat(44), 'é'.repeat(43), 'a'.repeat(5000)]) {
      expect(await spied.getByHash(bad)).toBeNull();
    }
    clock.advance(31 * minute);
    expect(await spied.getByHash(session.idHash)).toBeNull();
  });

  it('never adopts an id it did not issue, and a malformed id never reaches the store', async () => {
    const counting = countingStore(fixture.store);
    const spied = createSessionManager<Data>({ store: counting.store, now: clock.now });
    const forged = Buffer.alloc(32, 7).toString('base64url');
    expect(await spied.get(forged)).toBeNull();
    expect(counting.reads()).toBe(1);
    for (const bad of [
      '',
      'x',
      'a'.repeat(44),
      `${'a'.repeat(42)}B`,
      `${'a'.repeat(42)}=`,
      'é'.repeat(43),
      'a'.repeat(5000),
    ]) {
      expect(await spied.get(bad)).toBeNull();
      expect(await spied.resolve(bad)).toBeNull();
    }
    expect(counting.reads()).toBe(1);
    expect(counting.writes()).toBe(0);
    expect(isWellFormedSessionId(forged)).toBe(true);
  });

  it('ends a session after the idle timeout, checked on read, and touching keeps it alive', async () => {
    const { id } = await manager.create('alice', {});
    clock.advance(29 * minute);
    const session = await manager.resolve(id); // touches: the last write is older than 60 s
    expect(session?.lastSeenAt).toBe(clock.now());
    clock.advance(29 * minute);
    expect(await manager.get(id)).not.toBeNull();
    clock.advance(2 * minute);
    expect(await manager.get(id)).toBeNull();
    expect(await manager.resolve(id)).toBeNull();
  });

  it('ends a session at the absolute timeout however active it is', async () => {
    const { id } = await manager.create('alice', {});
    for (let elapsed = 0; elapsed < 12 * 60; elapsed += 20) {
      clock.advance(20 * minute);
      const live = await manager.resolve(id);
      if (elapsed + 20 < 12 * 60) expect(live).not.toBeNull();
      else expect(live).toBeNull();
    }
    expect(await manager.get(id)).toBeNull();
  });

  it('writes last-seen at most once per touch interval', async () => {
    const counting = countingStore(fixture.store);
    const spied = createSessionManager<Data>({
      store: counting.store,
      now: clock.now,
      touchIntervalMs: minute,
    });
    const { id } = await spied.create('alice', {});
    const afterCreate = counting.writes();
    for (let i = 0; i < 10; i++) {
      clock.advance(5_000);
      expect(await spied.resolve(id)).not.toBeNull();
    }
    expect(counting.writes()).toBe(afterCreate); // 50 s: no write
    clock.advance(10_000);
    expect((await spied.resolve(id))?.lastSeenAt).toBe(clock.now());
    expect(counting.writes()).toBe(afterCreate + 1);
  });

  it('keeps the store TTL as a backstop no longer than the nearer timeout', async () => {
    const { id } = await manager.create('alice', {});
    const ttl = await fixture.store.ttl(`session:s:${hashSessionId(id)}`);
    expect(ttl).not.toBeNull();
    expect(ttl as number).toBeGreaterThan(0);
    expect(ttl as number).toBeLessThanOrEqual(30 * minute);
  });

  it('concurrent updates of different keys of one session all survive', async () => {
    const { id } = await manager.create('alice', { role: 'user' });
    const snapshot = await manager.get(id);
    if (snapshot === null) throw new Error('no session');
    // Every update starts from the same stale snapshot, as concurrent requests would.
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((key) => manager.update(snapshot, { [key]: key })));
    const final = await manager.get(id);
    expect(final?.data.role).toBe('user');
    for (const key of keys) expect(final?.data[key]).toBe(key);
    expect(final?.version).toBe(1 + keys.length);
  });

  it('gives up with ERR_SESSION_UPDATE_CONFLICT when retries are exhausted', async () => {
    const tight = createSessionManager<Data>({ store: fixture.store, now: clock.now, maxUpdateAttempts: 1 });
    const { session } = await tight.create('alice', {});
    await tight.update(session, { theme: 'dark' });
    await expect(tight.update(session, { cart: ['x'] })).rejects.toMatchObject({
      code: 'ERR_SESSION_UPDATE_CONFLICT',
    });
  });

  it('update of a destroyed session is ERR_SESSION_NOT_FOUND', async () => {
    const { session } = await manager.create('alice', {});
    await manager.destroy(session);
    const error = await manager.update(session, { theme: 'dark' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('ERR_SESSION_NOT_FOUND');
  });

  it('regenerate (login) ends the previous session and issues a new id', async () => {
    const first = await manager.create('anon', {});
    const second = await manager.regenerate(first.session, 'alice', { role: 'user' });
    expect(second.id).not.toBe(first.id);
    expect(await manager.get(first.id)).toBeNull();
    expect((await manager.get(second.id))?.userId).toBe('alice');
  });

  it('rotate keeps user, data and absolute expiry under a new id', async () => {
    const { id, session } = await manager.create('alice', { role: 'user' });
    clock.advance(minute);
    const rotated = await manager.rotate(session);
    expect(rotated.id).not.toBe(id);
    expect(await manager.get(id)).toBeNull();
    const read = await manager.get(rotated.id);
    expect(read?.data).toEqual({ role: 'user' });
    expect(read?.absoluteExpiresAt).toBe(session.absoluteExpiresAt);
  });

  it('lists, ends one device, and ends every session of a user (disabled account)', async () => {
    const phone = await manager.create('alice', {}, { userAgent: 'Phone', address: '10.0.0.2' });
    clock.advance(1_000);
    const laptop = await manager.create('alice', {}, { userAgent: 'Laptop', address: '10.0.0.3' });
    const bob = await manager.create('bob', {});
    const listed = await manager.listForUser('alice');
    expect(listed.map((s) => s.userAgent)).toEqual(['Laptop', 'Phone']);
    expect(JSON.stringify(listed)).not.toContain(phone.id);

    expect(await manager.destroyHandle('bob', hashSessionId(phone.id))).toBe(false); // not bob's
    expect(await manager.destroyHandle('alice', hashSessionId(phone.id))).toBe(true);
    expect(await manager.get(phone.id)).toBeNull();

    await manager.create('alice', {});
    expect(await manager.destroyAllForUser('alice')).toBe(2);
    expect(await manager.get(laptop.id)).toBeNull();
    expect(await manager.listForUser('alice')).toEqual([]);
    expect(await manager.get(bob.id)).not.toBeNull();
  });

  it('prunes expired sessions from the listing', async () => {
    await manager.create('alice', {});
    clock.advance(31 * minute);
    const fresh = await manager.create('alice', {});
    const listed = await manager.listForUser('alice');
    expect(listed.map((s) => s.handle)).toEqual([hashSessionId(fresh.id)]);
  });

  it('a corrupt record is an unknown session', async () => {
    const { id } = await manager.create('alice', {});
    await fixture.store.set(`session:s:${hashSessionId(id)}`, '{not json', { ttlMs: minute });
    expect(await manager.get(id)).toBeNull();
  });

  it('a closed store fails with ERR_SESSION_STORE_UNAVAILABLE', async () => {
    const { id } = await manager.create('alice', {});
    await fixture.store.close();
    const error = await manager.get(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('ERR_SESSION_STORE_UNAVAILABLE');
    expect((error as SessionError).status).toBe(503);
    expect((error as SessionError).message).not.toContain(id);
  });

  it('refuses wrong arguments with TesseraTypeError', async () => {
    await expect(manager.create('', {})).rejects.toBeInstanceOf(TesseraTypeError);
    await expect(manager.create('alice', null as unknown as Data)).rejects.toBeInstanceOf(TesseraTypeError);
    await expect(manager.destroyAllForUser('')).rejects.toBeInstanceOf(TesseraTypeError);
  });
});
