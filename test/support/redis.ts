// The shared Redis at 6379 as the packages' tests use it: a random key prefix per test file, and
// SCAN (never KEYS) to find and delete what a test left under it.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test run uses, so parallel runs and engineers never collide. */
export function randomPrefix(label: string): string {
  return `tessera-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Every key under `prefix` on the shared server. */
export async function keysWithPrefix(prefix: string): Promise<string[]> {
  const client = new Redis(REDIS_URL);
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix` on the shared server (or the one at `url`: the benchmarks'). */
export async function deleteKeysWithPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
