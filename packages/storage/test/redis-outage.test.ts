import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { freePort, PrivateRedisServer } from '../../../test/support/redis-server.js';
import { RedisStore } from '../src/kv/redis.js';
import { RedisChannel } from '../src/pubsub/redis.js';
import { expectStorageError } from './helpers/errors.js';

// Redis restarts and reconnections take longer than a delivery.
const patiently = { timeoutMs: 10_000, intervalMs: 50 };

// These tests stop and start Redis, so they run against a private redis-server on a free port,
// never the shared one on 6379.

describe('Redis outage (docs/security.md J127)', () => {
  let server: PrivateRedisServer;
  const connection = () => ({ redis: { host: '127.0.0.1', port: server.port }, commandTimeoutMs: 500 });

  beforeAll(async () => {
    server = new PrivateRedisServer(await freePort());
    await server.start();
  });
  afterAll(async () => {
    await server.kill();
  });

  it('RedisStore rejects with ERR_STORAGE_UNAVAILABLE while Redis is down and recovers by itself', async () => {
    const store = new RedisStore({ ...connection(), prefix: 'outage:' });
    try {
      await store.set('k', 'before', { ttlMs: undefined });
      expect(await store.get('k')).toBe('before');

      await server.kill();
      const error = await expectStorageError(
        store.set('k', 'secret-during', { ttlMs: undefined }),
        'ERR_STORAGE_UNAVAILABLE',
      );
      expect(error.message).not.toContain('secret-during');
      await expectStorageError(store.get('k'), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(store.take('k'), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(
        store.compareAndSet('k', 'a', 'b', { ttlMs: undefined }),
        'ERR_STORAGE_UNAVAILABLE',
      );
      await expectStorageError(store.increment('n', 1, { ttlMs: 1000 }), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(store.setAdd('s', ['m'], { ttlMs: 1000 }), 'ERR_STORAGE_UNAVAILABLE');

      await server.start();
      // Same store object, no reconnect call: ioredis reconnects on its own.
      await eventually(() => store.set('k', 'after', { ttlMs: undefined }), patiently);
      expect(await store.get('k')).toBe('after');
      // The restarted server has an empty script cache: the scripts are loaded again.
      expect(await store.increment('n', 2, { ttlMs: undefined })).toBe(2);
      expect(await store.compareAndSet('k', 'after', 'swapped', { ttlMs: undefined })).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('RedisStore settles every call within its command timeout on a frozen Redis, own client or not', async () => {
    const own = new RedisStore({ ...connection(), prefix: 'frozen:' });
    // A caller's client that would wait forever: the store bounds its calls with a timer instead.
    const client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
    const adopted = new RedisStore({ client, commandTimeoutMs: 500, prefix: 'frozen:' });
    try {
      expect(own.settlesWithinMs).toBe(500);
      expect(adopted.settlesWithinMs).toBe(500);
      await own.set('k', 'v', { ttlMs: 60_000 });
      expect(await adopted.get('k')).toBe('v');
      server.pause();
      const started = performance.now();
      await Promise.all([
        expectStorageError(own.get('k'), 'ERR_STORAGE_UNAVAILABLE'),
        expectStorageError(adopted.get('k'), 'ERR_STORAGE_UNAVAILABLE'),
        expectStorageError(own.increment('n', 1, { ttlMs: 1000 }), 'ERR_STORAGE_UNAVAILABLE'),
        expectStorageError(
          adopted.compareAndSet('k', 'v', 'w', { ttlMs: undefined }),
          'ERR_STORAGE_UNAVAILABLE',
        ),
      ]);
      // Not a speed figure: the calls ended because of their timeout, not because Redis answered.
      expect(performance.now() - started).toBeGreaterThanOrEqual(450);

      // A call made while an auto-pipeline is still waiting is bounded from when it was made, not
      // from when ioredis gets to send it (after that pipeline's own timeout).
      const first = expectStorageError(own.get('k'), 'ERR_STORAGE_UNAVAILABLE');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const issued = performance.now();
      await expectStorageError(own.get('k'), 'ERR_STORAGE_UNAVAILABLE');
      const waited = performance.now() - issued;
      await first;
      // Bounded by its own 500 ms; sent only after the first pipeline's timeout it would take ~950.
      expect(waited).toBeLessThan(800);
    } finally {
      server.resume();
      await own.close();
      await adopted.close();
      client.disconnect();
    }
  });

  it('RedisStore loads its Lua scripts again after SCRIPT FLUSH', async () => {
    const store = new RedisStore({ ...connection(), prefix: 'flush:' });
    const client = new Redis({ host: '127.0.0.1', port: server.port });
    try {
      expect(await store.increment('n', 1, { ttlMs: 60_000 })).toBe(1);
      await client.script('FLUSH');
      expect(await store.increment('n', 1, { ttlMs: 60_000 })).toBe(2);
    } finally {
      client.disconnect();
      await store.close();
    }
  });

  it('RedisChannel rejects publish while Redis is down and resubscribes after it returns', async () => {
    const received: string[] = [];
    const channel = new RedisChannel({ ...connection(), prefix: 'outage:' });
    try {
      await channel.subscribe('events', (message) => {
        received.push(message);
      });
      await channel.publish('events', 'before');
      await eventually(() => expect(received).toEqual(['before']), patiently);

      await server.kill();
      await expectStorageError(channel.publish('events', 'lost'), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(
        channel.subscribe('other', () => {}),
        'ERR_STORAGE_UNAVAILABLE',
      );

      await server.start();
      // The server came back empty: the reader finds the stream shorter than it had read and reads
      // the new one from its start, so 'after' arrives once (and 'lost', refused, never).
      await eventually(() => channel.publish('events', 'after'), patiently);
      await eventually(() => expect(received).toEqual(['before', 'after']), patiently);
    } finally {
      await channel.close();
    }
  });
});
