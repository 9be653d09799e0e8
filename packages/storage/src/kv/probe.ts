import type { KeyValueStore } from './types.js';

/** A key no one writes: reading it is one round trip that changes nothing. */
const PROBE_KEY = 'tessera:readiness-probe';

/**
 * Resolves when the store answers a read, rejects as the store rejects (ERR_STORAGE_UNAVAILABLE).
 * The one readiness probe of a KeyValueStore; the caller bounds it (core's checkReadiness).
 */
export async function probeStore(store: KeyValueStore): Promise<void> {
  await store.get(PROBE_KEY);
}
