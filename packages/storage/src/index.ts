export { MemoryStore, type MemoryStoreOptions } from './kv/memory.js';
export { RedisStore, type RedisStoreOptions } from './kv/redis.js';
export { SqliteStore, type SqliteStoreOptions } from './kv/sqlite.js';
export type { Clock, KeyValueStore, KeyValueStoreOptions, TtlOptions } from './kv/types.js';
export { probeChannel, probeStore } from './probe.js';
export { InProcessChannel } from './pubsub/in-process.js';
export { RedisChannel, type RedisChannelOptions } from './pubsub/redis.js';
export type { Channel, ChannelOptions, MessageHandler, Unsubscribe } from './pubsub/types.js';
export type { RedisClient, RedisConnectionOptions } from './redis/connection.js';
