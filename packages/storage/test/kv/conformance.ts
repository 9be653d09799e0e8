import { StorageError } from '@tessera/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../src/kv/types.js';
import { expectStorageError, expectTypeError } from '../helpers/errors.js';

/** What the suite needs from an adapter's test file. */
export interface KeyValueStoreHarness {
  /** Opens a store on the harness's shared backend (same file, same server) under `prefix`. */
  open(prefix: string): KeyValueStore | Promise<KeyValueStore>;
  /**
   * Lets `ms` of the stores' time pass: a fake clock for the adapters that take one, a real wait
   * for Redis (so TTLs in this suite stay short).
   */
  advance(ms: number): Promise<void>;
  /** Removes everything the run left behind (keys, files). */
  cleanup(): Promise<void>;
}

const NO_EXPIRY = { ttlMs: undefined } as const;
// Short enough to wait out on a real server, long enough to never lapse between two calls.
const SHORT = { ttlMs: 100 } as const;
const LONG = { ttlMs: 600_000 } as const;
const PAST_SHORT = 250;

const sorted = (values: readonly string[]): string[] => [...values].sort();

/**
 * The behaviour every KeyValueStore must have, run unchanged against each adapter. Each test
 * opens its own stores under a fresh prefix, so tests never see each other's keys.
 */
export function describeKeyValueStoreConformance(
  name: string,
  factory: () => KeyValueStoreHarness | Promise<KeyValueStoreHarness>,
): void {
  describe(`KeyValueStore conformance: ${name}`, () => {
    let harness: KeyValueStoreHarness;
    let opened: KeyValueStore[] = [];
    let counter = 0;

    beforeAll(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await Promise.all(opened.map((store) => store.close()));
      opened = [];
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    const open = async (prefix = `t${++counter}:`): Promise<KeyValueStore> => {
      const store = await harness.open(prefix);
      opened.push(store);
      return store;
    };

    describe('get, set, delete', () => {
      it('returns null for an absent key, then what was set, then the replacement', async () => {
        const store = await open();
        expect(await store.get('a')).toBeNull();
        await store.set('a', 'one', NO_EXPIRY);
        expect(await store.get('a')).toBe('one');
        await store.set('a', 'two', NO_EXPIRY);
        expect(await store.get('a')).toBe('two');
        expect(await store.get('b')).toBeNull();
      });

      it('deletes a key and reports whether it existed', async () => {
        const store = await open();
        await store.set('a', 'one', NO_EXPIRY);
        expect(await store.delete('a')).toBe(true);
        expect(await store.get('a')).toBeNull();
        expect(await store.delete('a')).toBe(false);
      });

      it('stores the empty string as a value distinct from absence', async () => {
        const store = await open();
        await store.set('empty', '', NO_EXPIRY);
        expect(await store.get('empty')).toBe('');
      });

      it('keeps unicode keys and values exactly', async () => {
        const store = await open();
        const value = 'Grüße, 世界 👋🏽 e\u0301 \u{10FFFF} "quotes" \\ \n\t';
        await store.set('ключ-🔑', value, NO_EXPIRY);
        expect(await store.get('ключ-🔑')).toBe(value);
        expect(await store.take('ключ-🔑')).toBe(value);
      });

      it('keeps a large value (1 MiB) exactly', async () => {
        const store = await open();
        const value = 'x€'.repeat(512 * 1024);
        await store.set('big', value, NO_EXPIRY);
        expect(await store.get('big')).toBe(value);
      });
    });

    describe('expiry', () => {
      it('never returns an expired entry, from any read', async () => {
        const store = await open();
        await store.set('short', 'secret', SHORT);
        await store.set('long', 'kept', LONG);
        await store.set('forever', 'kept', NO_EXPIRY);
        await store.setAdd('set', ['m'], SHORT);
        await store.increment('counter', 5, SHORT);
        expect(await store.get('long')).toBe('kept');
        await harness.advance(PAST_SHORT);
        expect(await store.get('short')).toBeNull();
        expect(await store.take('short')).toBeNull();
        expect(await store.ttl('short')).toBeNull();
        expect(await store.delete('short')).toBe(false);
        expect(await store.setMembers('set')).toEqual([]);
        expect(await store.setHas('set', 'm')).toBe(false);
        expect(await store.setSize('set')).toBe(0);
        expect(await store.get('counter')).toBeNull();
        expect(await store.get('long')).toBe('kept');
        expect(await store.get('forever')).toBe('kept');
      });

      it('treats an expired key as absent for compareAndSet and increment', async () => {
        const store = await open();
        await store.set('cas', 'old', SHORT);
        await store.increment('n', 7, SHORT);
        await harness.advance(PAST_SHORT);
        expect(await store.compareAndSet('cas', 'old', 'new', NO_EXPIRY)).toBe(false);
        expect(await store.compareAndSet('cas', null, 'new', NO_EXPIRY)).toBe(true);
        expect(await store.get('cas')).toBe('new');
        expect(await store.increment('n', 1, NO_EXPIRY)).toBe(1);
      });

      it('reports the remaining TTL: Infinity without expiry, null when absent', async () => {
        const store = await open();
        await store.set('long', 'v', LONG);
        await store.set('forever', 'v', NO_EXPIRY);
        const remaining = await store.ttl('long');
        expect(remaining).toBeGreaterThan(0);
        expect(remaining).toBeLessThanOrEqual(LONG.ttlMs);
        expect(await store.ttl('forever')).toBe(Number.POSITIVE_INFINITY);
        expect(await store.ttl('absent')).toBeNull();
      });

      it('replaces the expiry on set: a set without TTL makes the key permanent', async () => {
        const store = await open();
        await store.set('a', 'one', SHORT);
        await store.set('a', 'two', NO_EXPIRY);
        await harness.advance(PAST_SHORT);
        expect(await store.get('a')).toBe('two');
      });

      it('changes the expiry of an existing key with expire', async () => {
        const store = await open();
        await store.set('shortened', 'v', LONG);
        await store.set('kept', 'v', SHORT);
        expect(await store.expire('shortened', SHORT)).toBe(true);
        expect(await store.expire('kept', NO_EXPIRY)).toBe(true);
        expect(await store.expire('absent', SHORT)).toBe(false);
        expect(await store.get('absent')).toBeNull();
        await harness.advance(PAST_SHORT);
        expect(await store.get('shortened')).toBeNull();
        expect(await store.get('kept')).toBe('v');
        expect(await store.ttl('kept')).toBe(Number.POSITIVE_INFINITY);
      });
    });

    describe('take', () => {
      it('returns the value once, then null', async () => {
        const store = await open();
        await store.set('code', 'abc', LONG);
        expect(await store.take('code')).toBe('abc');
        expect(await store.take('code')).toBeNull();
        expect(await store.get('code')).toBeNull();
        expect(await store.take('absent')).toBeNull();
      });

      it('gives the value to exactly one of 50 parallel takes', async () => {
        const store = await open();
        const other = await open(`t${counter}:`);
        await store.set('code', 'one-time', LONG);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).take('code')),
        );
        expect(results.filter((result) => result !== null)).toEqual(['one-time']);
      });
    });

    describe('compareAndSet', () => {
      it('with null expected writes only when the key is absent', async () => {
        const store = await open();
        expect(await store.compareAndSet('k', null, 'first', NO_EXPIRY)).toBe(true);
        expect(await store.compareAndSet('k', null, 'second', NO_EXPIRY)).toBe(false);
        expect(await store.get('k')).toBe('first');
      });

      it('writes only when the current value equals expected', async () => {
        const store = await open();
        await store.set('k', 'v1', NO_EXPIRY);
        expect(await store.compareAndSet('k', 'other', 'v2', NO_EXPIRY)).toBe(false);
        expect(await store.get('k')).toBe('v1');
        expect(await store.compareAndSet('k', 'v1', 'v2', NO_EXPIRY)).toBe(true);
        expect(await store.get('k')).toBe('v2');
        expect(await store.compareAndSet('absent', 'v1', 'v2', NO_EXPIRY)).toBe(false);
        expect(await store.get('absent')).toBeNull();
      });

      it('sets the TTL given with the new value', async () => {
        const store = await open();
        await store.set('k', 'v1', NO_EXPIRY);
        expect(await store.compareAndSet('k', 'v1', 'v2', SHORT)).toBe(true);
        expect(await store.compareAndSet('fresh', null, 'v', SHORT)).toBe(true);
        await harness.advance(PAST_SHORT);
        expect(await store.get('k')).toBeNull();
        expect(await store.get('fresh')).toBeNull();
      });

      it('lets exactly one of 50 parallel swaps from the same value win', async () => {
        const store = await open();
        const other = await open(`t${counter}:`);
        await store.set('k', 'start', NO_EXPIRY);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? store : other).compareAndSet('k', 'start', `next-${i}`, NO_EXPIRY),
          ),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(await store.get('k')).toBe(`next-${winners[0]}`);
      });

      it('lets exactly one of 50 parallel creations win', async () => {
        const store = await open();
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.compareAndSet('lock', null, `owner-${i}`, LONG)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('increment', () => {
      it('starts an absent counter at 0 and returns the new value', async () => {
        const store = await open();
        expect(await store.increment('n', 1, NO_EXPIRY)).toBe(1);
        expect(await store.increment('n', 5, NO_EXPIRY)).toBe(6);
        expect(await store.increment('n', -10, NO_EXPIRY)).toBe(-4);
        expect(await store.get('n')).toBe('-4');
        await store.set('m', '41', NO_EXPIRY);
        expect(await store.increment('m', 1, NO_EXPIRY)).toBe(42);
      });

      it('counts 100 parallel increments exactly', async () => {
        const store = await open();
        const other = await open(`t${counter}:`);
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? store : other).increment('n', 1, LONG)),
        );
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        expect(await store.get('n')).toBe('100');
      });

      it('sets the TTL only when it creates the counter (a fixed window)', async () => {
        const store = await open();
        expect(await store.increment('window', 1, SHORT)).toBe(1);
        expect(await store.increment('window', 1, LONG)).toBe(2);
        expect(await store.ttl('window')).toBeLessThanOrEqual(SHORT.ttlMs);
        await harness.advance(PAST_SHORT);
        expect(await store.get('window')).toBeNull();
        expect(await store.increment('window', 1, SHORT)).toBe(1);
      });

      it('rejects a key that does not hold an integer, without revealing its value', async () => {
        const store = await open();
        await store.set('text', 'secret-token-value', NO_EXPIRY);
        await store.set('float', '1.5', NO_EXPIRY);
        await store.setAdd('set', ['m'], NO_EXPIRY);
        const error = await expectStorageError(
          store.increment('text', 1, NO_EXPIRY),
          'ERR_STORAGE_VALUE_INVALID',
        );
        expect(error.message).not.toContain('secret-token-value');
        await expectStorageError(store.increment('float', 1, NO_EXPIRY), 'ERR_STORAGE_VALUE_INVALID');
        await expectStorageError(store.increment('set', 1, NO_EXPIRY), 'ERR_STORAGE_VALUE_INVALID');
        expect(await store.get('text')).toBe('secret-token-value');
      });
    });

    describe('sets', () => {
      it('adds, lists, tests and removes members', async () => {
        const store = await open();
        expect(await store.setAdd('s', ['a', 'b', 'a'], NO_EXPIRY)).toBe(2);
        expect(await store.setAdd('s', ['b', 'c'], NO_EXPIRY)).toBe(1);
        expect(sorted(await store.setMembers('s'))).toEqual(['a', 'b', 'c']);
        expect(await store.setHas('s', 'b')).toBe(true);
        expect(await store.setHas('s', 'z')).toBe(false);
        expect(await store.setSize('s')).toBe(3);
        expect(await store.setRemove('s', ['b', 'z'])).toBe(1);
        expect(sorted(await store.setMembers('s'))).toEqual(['a', 'c']);
        expect(await store.setMembers('absent')).toEqual([]);
        expect(await store.setSize('absent')).toBe(0);
        expect(await store.setRemove('absent', ['a'])).toBe(0);
      });

      it('deletes a set when its last member is removed', async () => {
        const store = await open();
        await store.setAdd('s', ['a', 'b'], NO_EXPIRY);
        expect(await store.setRemove('s', ['a', 'b'])).toBe(2);
        expect(await store.ttl('s')).toBeNull();
        expect(await store.delete('s')).toBe(false);
      });

      it('moves the expiry on setAdd with a TTL and keeps it without one', async () => {
        const store = await open();
        await store.setAdd('refreshed', ['a'], LONG);
        await store.setAdd('refreshed', ['b'], SHORT);
        await store.setAdd('kept', ['a'], SHORT);
        await store.setAdd('kept', ['b'], NO_EXPIRY);
        await store.setAdd('permanent', ['a'], NO_EXPIRY);
        await harness.advance(PAST_SHORT);
        expect(await store.setMembers('refreshed')).toEqual([]);
        expect(await store.setMembers('kept')).toEqual([]);
        expect(await store.setMembers('permanent')).toEqual(['a']);
      });

      it('loses no member under 50 parallel adds', async () => {
        const store = await open();
        const other = await open(`t${counter}:`);
        const added = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? store : other).setAdd('s', [`m${i}`], LONG)),
        );
        expect(added.every((count) => count === 1)).toBe(true);
        expect(await store.setSize('s')).toBe(50);
      });

      it('keeps unicode members exactly', async () => {
        const store = await open();
        await store.setAdd('s', ['ü', '👋🏽', 'a,b', '"q"', '[]'], NO_EXPIRY);
        expect(sorted(await store.setMembers('s'))).toEqual(sorted(['ü', '👋🏽', 'a,b', '"q"', '[]']));
      });

      it('rejects mixing strings and sets on one key', async () => {
        const store = await open();
        await store.set('string', 'v', NO_EXPIRY);
        await store.setAdd('set', ['m'], NO_EXPIRY);
        await expectStorageError(store.setAdd('string', ['m'], NO_EXPIRY), 'ERR_STORAGE_VALUE_INVALID');
        await expectStorageError(store.setMembers('string'), 'ERR_STORAGE_VALUE_INVALID');
        await expectStorageError(store.get('set'), 'ERR_STORAGE_VALUE_INVALID');
        await expectStorageError(store.take('set'), 'ERR_STORAGE_VALUE_INVALID');
        await expectStorageError(
          store.compareAndSet('set', 'm', 'v', NO_EXPIRY),
          'ERR_STORAGE_VALUE_INVALID',
        );
        expect(await store.setMembers('set')).toEqual(['m']);
        // set replaces whatever the key held, and delete removes either kind.
        await store.set('set', 'now a string', NO_EXPIRY);
        expect(await store.get('set')).toBe('now a string');
        expect(await store.delete('string')).toBe(true);
      });
    });

    describe('prefixes', () => {
      it('isolates stores with different prefixes', async () => {
        const a = await open(`iso-a${counter}:`);
        const b = await open(`iso-b${counter}:`);
        await a.set('k', 'from a', NO_EXPIRY);
        await b.set('k', 'from b', NO_EXPIRY);
        await a.setAdd('s', ['a'], NO_EXPIRY);
        await a.increment('n', 1, NO_EXPIRY);
        expect(await a.get('k')).toBe('from a');
        expect(await b.get('k')).toBe('from b');
        expect(await b.setMembers('s')).toEqual([]);
        expect(await b.increment('n', 1, NO_EXPIRY)).toBe(1);
        expect(await b.take('k')).toBe('from b');
        expect(await a.get('k')).toBe('from a');
      });

      it('shares keys between stores with the same prefix', async () => {
        const prefix = `same${counter}:`;
        const a = await open(prefix);
        const b = await open(prefix);
        await a.set('k', 'shared', NO_EXPIRY);
        expect(await b.get('k')).toBe('shared');
      });
    });

    describe('bad arguments', () => {
      it('rejects an empty key, a bad TTL and a non-integer increment with a TesseraTypeError', async () => {
        const store = await open();
        await expectTypeError(store.get(''), 'ERR_INVALID_STORE_KEY');
        await expectTypeError(store.set('k', 'v', { ttlMs: 0 }), 'ERR_INVALID_TTL');
        await expectTypeError(store.set('k', 'v', { ttlMs: -5 }), 'ERR_INVALID_TTL');
        await expectTypeError(store.set('k', 'v', { ttlMs: 1.5 }), 'ERR_INVALID_TTL');
        await expectTypeError(store.set('k', 'v', { ttlMs: Number.NaN }), 'ERR_INVALID_TTL');
        // A caller that forgets the options entirely (possible from plain JavaScript).
        await expectTypeError(
          (store.set as (key: string, value: string) => Promise<void>)('k', 'v'),
          'ERR_INVALID_TTL',
        );
        await expectTypeError(store.increment('n', 0.5, NO_EXPIRY), 'ERR_INVALID_INCREMENT');
        await expectTypeError(store.set('k', 42 as unknown as string, NO_EXPIRY), 'ERR_INVALID_VALUE');
        expect(await store.get('k')).toBeNull();
        expect(await store.get('n')).toBeNull();
      });
    });

    describe('closed store', () => {
      it('rejects every operation with ERR_STORAGE_UNAVAILABLE after close', async () => {
        const store = await open();
        await store.set('k', 'v', NO_EXPIRY);
        await store.close();
        await store.close();
        await expectStorageError(store.get('k'), 'ERR_STORAGE_UNAVAILABLE');
        const error = await expectStorageError(
          store.set('k', 'secret-value', NO_EXPIRY),
          'ERR_STORAGE_UNAVAILABLE',
        );
        expect(error).toBeInstanceOf(StorageError);
        expect(error.message).not.toContain('secret-value');
        await expectStorageError(store.take('k'), 'ERR_STORAGE_UNAVAILABLE');
        await expectStorageError(store.increment('n', 1, NO_EXPIRY), 'ERR_STORAGE_UNAVAILABLE');
        await expectStorageError(store.setAdd('s', ['m'], NO_EXPIRY), 'ERR_STORAGE_UNAVAILABLE');
      });
    });
  });
}
