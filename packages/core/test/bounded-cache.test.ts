import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../src/index.js';

const keysOf = (cache: BoundedCache<string>, keys: readonly string[]) =>
  keys.filter((key) => cache.get(key) !== undefined);

describe('BoundedCache', () => {
  it('holds at most max entries and drops the least recently used first', () => {
    const cache = new BoundedCache<string>({ max: 2 });
    cache.set('a', 'A');
    cache.set('b', 'B');
    expect(cache.get('a')).toBe('A'); // a is now the most recent
    cache.set('c', 'C'); // drops b
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
  });

  it('drops one entry per insertion when full, not everything', () => {
    const cache = new BoundedCache<string>({ max: 4 });
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, key);
    cache.set('e', 'e');
    expect(cache.size).toBe(4);
    expect(keysOf(cache, ['a', 'b', 'c', 'd', 'e'])).toEqual(['b', 'c', 'd', 'e']);
  });

  it('never drops a key used again within every max/2 insertions, under a flood of new keys', () => {
    const cache = new BoundedCache<string>({ max: 8 });
    cache.set('hot', 'H');
    for (let i = 0; i < 1000; i++) {
      cache.set(`flood-${i}`, 'x');
      if (i % 4 === 0) expect(cache.get('hot')).toBe('H');
    }
    expect(cache.size).toBe(8);
    expect(cache.get('hot')).toBe('H');
    expect(cache.get('flood-0')).toBeUndefined();
    expect(cache.get('flood-999')).toBe('x');
  });

  it('setting a key again replaces its value and makes it the most recent', () => {
    const cache = new BoundedCache<string>({ max: 2 });
    cache.set('a', 'old');
    cache.set('b', 'B');
    cache.set('a', 'new');
    cache.set('c', 'C'); // drops b, the oldest now
    expect(cache.get('a')).toBe('new');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('never returns an entry once its clock reaches expiresAt, and forgets it', () => {
    let clock = 1000;
    const cache = new BoundedCache<string>({ max: 10, now: () => clock });
    cache.set('short', 'S', 1010);
    cache.set('forever', 'F');
    clock = 1009;
    expect(cache.get('short')).toBe('S');
    clock = 1010;
    expect(cache.get('short')).toBeUndefined();
    expect(cache.size).toBe(1);
    clock = Number.MAX_SAFE_INTEGER;
    expect(cache.get('forever')).toBe('F');
  });

  it('reads the clock only for an entry that expires', () => {
    let reads = 0;
    const cache = new BoundedCache<string>({
      max: 10,
      now: () => {
        reads += 1;
        return 0;
      },
    });
    cache.set('forever', 'F');
    cache.get('forever');
    cache.get('missing');
    expect(reads).toBe(0);
    cache.set('short', 'S', 1);
    cache.get('short');
    expect(reads).toBe(1);
  });

  it('deletes one key or all of them', () => {
    const cache = new BoundedCache<string>({ max: 3 });
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('B');
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses max %s', (max) => {
    expect(() => new BoundedCache({ max })).toThrow(
      expect.objectContaining({ name: 'TesseraTypeError', code: 'ERR_INVALID_OPTION' }),
    );
  });
});
