import type { KeyValueStore } from './kv/types.js';
import type { Channel } from './pubsub/types.js';

/** A key no one writes: reading it is one round trip that changes nothing. */
const PROBE_KEY = 'tessera:readiness-probe';

/**
 * Resolves when the store answers a read, rejects as the store rejects (ERR_STORAGE_UNAVAILABLE).
 * The one readiness probe of a KeyValueStore; the caller bounds it (core's checkReadiness).
 */
export async function probeStore(store: KeyValueStore): Promise<void> {
  await store.get(PROBE_KEY);
}

/**
 * Resolves when the channel's server answers (a PING on Redis), at once for a channel with no
 * server (in-process). The one readiness probe of a Channel; the caller bounds it.
 */
export async function probeChannel(channel: Channel): Promise<void> {
  await channel.probe?.();
}
