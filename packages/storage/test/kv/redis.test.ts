import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deleteKeysWithPrefix,
  keysWithPrefix,
  REDIS_URL,
  randomPrefix,
} from '../../../../test/support/redis.js';
import { RedisStore } from '../../src/kv/redis.js';
import { expectStorageError } from '../helpers/errors.js';
import { describeKeyValueStoreConformance } from './conformance.js';

const runPrefix = randomPrefix('kv');

describeKeyValueStoreConformance('RedisStore', () => ({
  open: (prefix) => new RedisStore({ url: REDIS_URL, prefix: runPrefix + prefix }),
  // Redis keeps real time: the suite's TTLs are short enough to wait out.
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  cleanup: () => deleteKeysWithPrefix(runPrefix),
}));

describe('RedisStore', () => {
  const prefix = randomPrefix('kv-redis');
  afterAll(async () => {
    await deleteKeysWithPrefix(prefix);
  });

  it('writes every key under its prefix and nowhere else', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix: `${prefix}a:` });
    try {
      await store.set('k', 'v', { ttlMs: 60_000 });
      await store.setAdd('s', ['m'], { ttlMs: 60_000 });
      await store.increment('n', 1, { ttlMs: 60_000 });
      expect(await keysWithPrefix(`${prefix}a:`)).toHaveLength(3);
      const raw = new Redis(REDIS_URL);
      try {
        expect(await raw.get(`${prefix}a:k`)).toBe('v');
        expect(await raw.pttl(`${prefix}a:n`)).toBeGreaterThan(0);
      } finally {
        raw.disconnect();
      }
    } finally {
      await store.close();
    }
  });

  it('uses a caller-owned client and leaves it open on close', async () => {
    const client = new Redis(REDIS_URL);
    const store = new RedisStore({ client, prefix: `${prefix}owned:` });
    try {
      await store.set('k', 'v', { ttlMs: 60_000 });
      expect(await store.compareAndSet('k', 'v', 'w', { ttlMs: 60_000 })).toBe(true);
      await store.close();
      expect(await client.get(`${prefix}owned:k`)).toBe('w');
    } finally {
      client.disconnect();
    }
  });

  it('rejects with ERR_STORAGE_UNAVAILABLE when nothing listens, without hanging', async () => {
    // Port 1 on loopback: connection refused at once.
    const store = new RedisStore({ redis: { host: '127.0.0.1', port: 1 }, commandTimeoutMs: 300 });
    try {
      await expectStorageError(store.get('k'), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(store.increment('k', 1, { ttlMs: undefined }), 'ERR_STORAGE_UNAVAILABLE');
    } finally {
      await store.close();
    }
  });

  it('says which server it could not reach and why, without the password', async () => {
    const store = new RedisStore({ url: 'redis://:hunter2-secret@127.0.0.1:1/3', commandTimeoutMs: 300 });
    try {
      const error = await store.get('k').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(
        /^RedisStore\.get: the store at redis:\/\/127\.0\.0\.1:1\/3 is unavailable \(.*ECONNREFUSED.*\)$/,
      );
      expect(error?.message).not.toContain('hunter2');
    } finally {
      await store.close();
    }
  });

  it.each(['notaurl', 'http://127.0.0.1:6379', '127.0.0.1:6379'])(
    'refuses the url %s at construction instead of reporting an outage later',
    (url) => {
      expect(() => new RedisStore({ url })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_OPTION',
          message: 'url must be a redis:// or rediss:// URL',
        }),
      );
    },
  );

  it('refuses conflicting connection options with a TesseraTypeError', () => {
    const client = new Redis({ lazyConnect: true });
    expect(() => new RedisStore({ client, url: REDIS_URL })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
    client.disconnect();
  });
});
