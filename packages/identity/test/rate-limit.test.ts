import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, MemoryStore, RedisStore, SqliteStore } from '@tessera/storage';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deleteKeysWithPrefix,
  keysWithPrefix,
  REDIS_URL,
  randomPrefix,
} from '../../../test/support/redis.js';
import { IdentityError, LoginRateLimiter, type LoginRateLimiterOptions } from '../src/index.js';
import { rejectionOf } from './helpers/hasher.js';

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2030-01-01T00:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

interface StoreFixture {
  readonly name: string;
  create(clock: () => number): KeyValueStore;
  cleanup(): Promise<void>;
}

const redisPrefix = randomPrefix('identity:rate-limit');
const sqliteDir = mkdtempSync(join(tmpdir(), 'tessera-identity-limits-'));
let sqliteFiles = 0;

const stores: readonly StoreFixture[] = [
  {
    name: 'memory',
    // The memory store shares the test's clock, so its TTLs move with it.
    create: (clock) => new MemoryStore({ now: clock }),
    cleanup: async () => {},
  },
  {
    name: 'sqlite',
    // A new file per test, on the test's clock too.
    create: (clock) => {
      sqliteFiles += 1;
      return new SqliteStore({ path: join(sqliteDir, `limits-${sqliteFiles}.db`), now: clock });
    },
    cleanup: async () => rmSync(sqliteDir, { recursive: true, force: true }),
  },
  {
    name: 'redis',
    create: () => new RedisStore({ url: REDIS_URL, prefix: redisPrefix }),
    cleanup: () => deleteKeysWithPrefix(redisPrefix),
  },
];

async function lockedFor(run: Promise<unknown>): Promise<number> {
  const error = await rejectionOf(run);
  expect(error).toMatchObject({ name: 'IdentityError', code: 'ERR_LOGIN_RATE_LIMITED', status: 429 });
  return error.retryAfterSeconds as number;
}

describe.each(stores)('LoginRateLimiter on $name (docs/security.md H93, H109, H110)', (fixture) => {
  let clock: ReturnType<typeof manualClock>;
  let store: KeyValueStore;
  let limiter: LoginRateLimiter;

  const make = (options: Partial<LoginRateLimiterOptions> = {}) =>
    new LoginRateLimiter({
      store,
      now: clock.now,
      prefix: `${Math.random().toString(36).slice(2)}:`,
      ...options,
    });

  beforeEach(() => {
    clock = manualClock();
    store = fixture.create(clock.now);
    limiter = make();
  });

  afterEach(async () => {
    await store.close();
  });

  afterAll(async () => {
    await fixture.cleanup();
  });

  /** One failed attempt: allowed, counted, never succeeded. */
  const fail = (username: string, address = '192.0.2.1') => limiter.begin({ username, address });

  it('allows four failures, locks at the fifth for 1 s, and doubles the lock per further failure', async () => {
    for (let i = 0; i < 5; i += 1) await fail('alice');
    expect(await lockedFor(fail('alice'))).toBe(1);
    clock.advance(1000);
    await fail('alice'); // sixth: allowed after the lock, locks for 2 s
    expect(await lockedFor(fail('alice'))).toBe(2);
    clock.advance(1999);
    expect(await lockedFor(fail('alice'))).toBe(1);
    clock.advance(1);
    await fail('alice'); // seventh: 4 s
    expect(await lockedFor(fail('alice'))).toBe(4);
    clock.advance(4000);
    await fail('alice'); // eighth: 8 s
    expect(await lockedFor(fail('alice'))).toBe(8);
    expect(await limiter.retryAfter({ username: 'alice', address: '198.51.100.9' })).toBe(8);
  });

  it('caps the lock at maxLockMs', async () => {
    limiter = make({ username: { freeAttempts: 2, baseLockMs: 1000, maxLockMs: 5000 } });
    const seen: number[] = [];
    await fail('bob');
    for (let i = 0; i < 6; i += 1) {
      await fail('bob');
      const seconds = await lockedFor(fail('bob'));
      seen.push(seconds);
      clock.advance(seconds * 1000);
    }
    expect(seen).toEqual([1, 2, 4, 5, 5, 5]);
  });

  it('refuses a locked username without counting the refused attempts', async () => {
    for (let i = 0; i < 5; i += 1) await fail('carol');
    for (let i = 0; i < 50; i += 1) await lockedFor(fail('carol'));
    clock.advance(1000);
    await fail('carol');
    // Had the 50 refusals counted, this lock would be capped at 15 minutes, not 2 s.
    expect(await lockedFor(fail('carol'))).toBe(2);
  });

  it('treats every form of a username as one, and an unknown username like any other', async () => {
    for (const form of ['Dave', 'DAVE', 'dave', '\uff24\uff41\uff56\uff45', 'dAvE']) await fail(form);
    expect(await lockedFor(fail('dave'))).toBe(1);
    // Other usernames are untouched.
    await fail('someone-who-does-not-exist');
  });

  it('resets the username count on success', async () => {
    for (let i = 0; i < 4; i += 1) await fail('erin');
    const attempt = await limiter.begin({ username: 'erin', address: '192.0.2.1' });
    await attempt.succeeded();
    for (let i = 0; i < 4; i += 1) await fail('erin');
    // Without the reset the ninth attempt would long be locked.
    const fifth = await limiter.begin({ username: 'erin', address: '192.0.2.1' });
    expect(await lockedFor(fail('erin'))).toBe(1);
    await fifth.succeeded();
    await fail('erin');
  });

  it('limits an address across usernames with a higher threshold', async () => {
    limiter = make({ address: { freeAttempts: 8, baseLockMs: 1000, maxLockMs: 60_000 } });
    for (let i = 0; i < 8; i += 1) await fail(`user-${i}`, '203.0.113.7');
    expect(await lockedFor(fail('user-new', '203.0.113.7'))).toBe(1);
    // The same usernames from another address are fine...
    await fail('user-new', '203.0.113.8');
    // ...and an IPv4 address seen as IPv4-mapped IPv6 is the same client.
    expect(await lockedFor(fail('user-other', '::ffff:203.0.113.7'))).toBe(1);
    clock.advance(1000);
    await fail('user-9', '203.0.113.7');
    expect(await lockedFor(fail('user-10', '203.0.113.7'))).toBe(2);
  });

  it('does not count a username attempt that its locked address refused', async () => {
    limiter = make({ address: { freeAttempts: 3 } });
    for (let i = 0; i < 3; i += 1) await fail(`x-${i}`, '198.51.100.1');
    for (let i = 0; i < 10; i += 1) await lockedFor(fail('frank', '198.51.100.1'));
    // frank's own count is still zero: four failures from elsewhere stay under the lock.
    for (let i = 0; i < 4; i += 1) await fail('frank', `198.51.100.${10 + i}`);
    expect(await limiter.retryAfter({ username: 'frank', address: '198.51.100.3' })).toBe(0);
  });

  it('writes nothing for an attempt an existing lock refuses', async () => {
    // The real store, with every write it is asked for counted on the way through.
    let writes = 0;
    const counted = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'set' || name === 'compareAndSet' || name === 'delete' || name === 'increment')
            writes += 1;
          return value.apply(target, args);
        };
      },
    });
    limiter = make({ store: counted, address: { freeAttempts: 3 } });
    for (let i = 0; i < 3; i += 1) await fail(`y-${i}`, '198.51.100.2');
    writes = 0;
    for (let i = 0; i < 5; i += 1) await lockedFor(fail(`new-${i}`, '198.51.100.2'));
    expect(writes).toBe(0);
    // None of the refused usernames was counted: each still has its whole budget elsewhere.
    for (let i = 0; i < 4; i += 1) await fail('new-0', `198.51.100.${20 + i}`);
    expect(await limiter.retryAfter({ username: 'new-0', address: '198.51.100.30' })).toBe(0);
  });

  it('counts IPv6 clients by their /64', async () => {
    limiter = make({ address: { freeAttempts: 3 } });
    await fail('v6-a', '2001:db8:1:2::10');
    await fail('v6-b', '2001:db8:1:2:ffff:ffff:ffff:ffff');
    await fail('v6-c', '2001:DB8:1:2:0:0:0:abcd');
    // Three failures across three addresses of one /64: the fourth from a fourth address is locked.
    expect(await lockedFor(fail('v6-d', '2001:db8:1:2::99'))).toBe(1);
    // The neighbouring /64 has its own budget.
    await fail('v6-e', '2001:db8:1:3::10');
  });

  it('does not hold a successful login against its address', async () => {
    limiter = make({ address: { freeAttempts: 3 } });
    for (let i = 0; i < 10; i += 1) {
      const attempt = await limiter.begin({ username: `good-${i}`, address: '192.0.2.50' });
      await attempt.succeeded();
    }
    await fail('a', '192.0.2.50');
    await fail('b', '192.0.2.50');
    await fail('c', '192.0.2.50');
    expect(await lockedFor(fail('d', '192.0.2.50'))).toBe(1);
  });

  it('lets only the free attempts through when many start at once', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => limiter.begin({ username: 'grace', address: '192.0.2.9' })),
    );
    const allowed = results.filter((r) => r.status === 'fulfilled').length;
    expect(allowed).toBe(5);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(IdentityError);
    }
  });

  it('forgets a username after reset (an administrator unlocking it)', async () => {
    for (let i = 0; i < 5; i += 1) await fail('heidi');
    await lockedFor(fail('heidi'));
    await limiter.reset('HEIDI');
    await fail('heidi');
  });

  it('refuses wrong options as a TypeError', () => {
    expect(() => make({ username: { freeAttempts: 0 } })).toThrow(TypeError);
    expect(() => make({ address: { baseLockMs: 10, maxLockMs: 5 } })).toThrow(TypeError);
    expect(() => new LoginRateLimiter({ store: {} as KeyValueStore })).toThrow(TypeError);
  });
});

describe('LoginRateLimiter window', () => {
  it('forgets a count windowMs after the last attempt (plus the longest lock)', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    try {
      const limiter = new LoginRateLimiter({
        store,
        now: clock.now,
        username: { freeAttempts: 3, baseLockMs: 1000, maxLockMs: 10_000, windowMs: 60_000 },
      });
      const fail = () => limiter.begin({ username: 'judy', address: '192.0.2.1' });
      await fail();
      await fail();
      clock.advance(59_000);
      await fail(); // third: still inside the window, so it locks
      expect(await limiter.retryAfter({ username: 'judy', address: '192.0.2.2' })).toBe(1);
      clock.advance(70_000);
      // Forgotten: three more attempts before the next lock.
      await fail();
      await fail();
      expect(await limiter.retryAfter({ username: 'judy', address: '192.0.2.2' })).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('LoginRateLimiter on redis: keys', () => {
  it('keeps no username or address in a key, and every key expires', async () => {
    const prefix = randomPrefix('identity:rate-limit-keys');
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const limiter = new LoginRateLimiter({ store });
      await limiter.begin({ username: 'ivan@example.com', address: '192.0.2.77' });
      const keys = await keysWithPrefix(prefix);
      expect(keys).toHaveLength(2);
      for (const key of keys) {
        expect(key).not.toContain('ivan');
        expect(key).not.toContain('192.0.2.77');
        const ttl = await store.ttl(key.slice(prefix.length));
        expect(ttl).not.toBeNull();
        expect(Number.isFinite(ttl)).toBe(true);
      }
    } finally {
      await store.close();
      await deleteKeysWithPrefix(prefix);
    }
  });
});
