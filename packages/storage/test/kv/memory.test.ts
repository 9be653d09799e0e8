import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/kv/memory.js';
import { describeKeyValueStoreConformance } from './conformance.js';

describeKeyValueStoreConformance('MemoryStore', () => {
  let now = 1_700_000_000_000;
  // Views of one root store share its entries, as stores on one Redis server share its keys.
  const root = new MemoryStore({ now: () => now });
  return {
    open: (prefix) => root.withPrefix(prefix),
    advance: async (ms) => {
      now += ms;
    },
    cleanup: () => root.close(),
  };
});

describe('MemoryStore (docs/security.md J125)', () => {
  let store: MemoryStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('expires an entry exactly at its TTL on the injected clock', async () => {
    let now = 0;
    store = new MemoryStore({ now: () => now });
    await store.set('k', 'v', { ttlMs: 1000 });
    now = 999;
    expect(await store.get('k')).toBe('v');
    expect(await store.ttl('k')).toBe(1);
    now = 1000;
    expect(await store.get('k')).toBeNull();
  });

  it('frees expired entries in the periodic sweep, without any read', async () => {
    let now = 0;
    store = new MemoryStore({ now: () => now, sweepIntervalMs: 10 });
    await store.set('gone', 'v', { ttlMs: 5 });
    await store.set('kept', 'v', { ttlMs: undefined });
    now = 100;
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The sweep deleted the entry, so moving the clock back cannot resurrect it.
    now = 0;
    expect(await store.get('gone')).toBeNull();
    expect(await store.get('kept')).toBe('v');
  });
});
