import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A prefix no other test run uses, so parallel runs and engineers never collide. */
export function randomPrefix(label: string): string {
  return `tessera-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` on the shared server (SCAN, never KEYS). */
export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
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

/** How many keys live under `prefix` on the shared server. */
export async function countKeysWithPrefix(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  } finally {
    client.disconnect();
  }
}
