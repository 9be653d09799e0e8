import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, MemoryStore, RedisStore, SqliteStore } from '@tessera/storage';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../../test/support/redis.js';

/** Every key and value under `prefix` on the shared Redis, as a store dump would show them. */
export async function dumpRedis(prefix: string): Promise<string> {
  const client = new Redis(REDIS_URL);
  try {
    const [, keys] = await client.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await client.type(key);
      parts.push(
        key,
        type === 'set' ? (await client.smembers(key)).join(',') : ((await client.get(key)) ?? ''),
      );
    }
    return parts.join('\n');
  } finally {
    client.disconnect();
  }
}

export interface StoreFixture {
  readonly name: 'memory' | 'sqlite' | 'redis';
  readonly store: KeyValueStore;
  /** Everything the backend holds for this fixture, keys and values, as text. */
  dump(): Promise<string>;
  cleanup(): Promise<void>;
}

/** A store of each kind; memory and SQLite follow the given clock so their own expiry agrees. */
export async function makeStore(kind: StoreFixture['name'], now: () => number): Promise<StoreFixture> {
  if (kind === 'memory') {
    const inner = new MemoryStore({ now });
    const written: string[] = [];
    // MemoryStore has no dump: record every key and value written through it instead.
    const store = new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          written.push(...args.filter((arg) => typeof arg === 'string' || Array.isArray(arg)).map(String));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { name: kind, store, dump: async () => written.join('\n'), cleanup: () => inner.close() };
  }
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-session-'));
    const path = join(dir, 'sessions.db');
    const store = new SqliteStore({ path, now });
    return {
      name: kind,
      store,
      async dump() {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(path, { readonly: true });
        try {
          return JSON.stringify(db.prepare('select * from tessera_kv').all());
        } finally {
          db.close();
        }
      },
      async cleanup() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const prefix = randomPrefix('session:store');
  const store = new RedisStore({ url: REDIS_URL, prefix });
  return {
    name: kind,
    store,
    dump: () => dumpRedis(prefix),
    async cleanup() {
      await store.close();
      await deleteKeysWithPrefix(prefix);
    },
  };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2030, 0, 1)): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}

const writeMethods = ['set', 'delete', 'take', 'compareAndSet', 'increment', 'setAdd', 'setRemove', 'expire'];

/** Wraps a store to count reads and writes (the real store still does the work). */
export function countingStore(inner: KeyValueStore): {
  store: KeyValueStore;
  reads: () => number;
  writes: () => number;
} {
  let reads = 0;
  let writes = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
      return (...args: unknown[]) => {
        if (writeMethods.includes(property)) writes++;
        else reads++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, reads: () => reads, writes: () => writes };
}
