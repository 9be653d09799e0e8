import { type KeyValueStore, MemoryStore, RedisStore, SqliteStore } from '@tessera/storage';
import type { StoreConfig } from '../config.js';

/** The key-value store sessions and login rate limits live in, built from the config. */
export function openStore(config: StoreConfig): KeyValueStore {
  switch (config.type) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore({ path: config.path });
    case 'redis': {
      const prefix = config.keyPrefix;
      const password = config.password === undefined ? {} : { password: config.password };
      if (config.cluster !== undefined) {
        return new RedisStore({
          prefix,
          cluster: { nodes: config.cluster.map((n) => ({ ...n })), options: { redisOptions: password } },
        });
      }
      if (config.sentinels !== undefined) {
        return new RedisStore({
          prefix,
          redis: {
            sentinels: config.sentinels.map((n) => ({ ...n })),
            name: config.name ?? 'mymaster',
            ...password,
          },
        });
      }
      return new RedisStore({
        prefix,
        url: config.url ?? 'redis://127.0.0.1:6379',
        ...(config.password === undefined ? {} : { redis: password }),
      });
    }
  }
}
