import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test run uses. */
export function randomPrefix(label: string): string {
  return `tessera-test:identity:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Every key under `prefix` on the shared server (SCAN, never KEYS). */
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

export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  const keys = await keysWithPrefix(prefix);
  if (keys.length === 0) return;
  const client = new Redis(REDIS_URL);
  try {
    await client.del(...keys);
  } finally {
    client.disconnect();
  }
}
