import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { REDIS_URL, randomPrefix } from '../../../../test/support/redis.js';
import { RedisChannel } from '../../src/pubsub/redis.js';
import { describeChannelConformance } from './conformance.js';

const prefix = randomPrefix('pubsub');

describeChannelConformance('RedisChannel', () => ({
  open: (options) => new RedisChannel({ url: REDIS_URL, prefix, ...options }),
  // Pub/sub leaves no keys behind; each channel closes its own connections.
  cleanup: async () => {},
}));

describe('RedisChannel', () => {
  it('publishes on the prefixed Redis channel name', async () => {
    const listener = new Redis(REDIS_URL);
    const channel = new RedisChannel({ url: REDIS_URL, prefix });
    try {
      const received = new Promise<[string, string]>((resolve) => {
        listener.on('message', (name: string, message: string) => resolve([name, message]));
      });
      await listener.subscribe(`${prefix}revocations`);
      await channel.publish('revocations', '{"kind":"sid"}');
      expect(await received).toEqual([`${prefix}revocations`, '{"kind":"sid"}']);
    } finally {
      listener.disconnect();
      await channel.close();
    }
  });

  it('uses a caller-owned client for publishing and leaves it open on close', async () => {
    const client = new Redis(REDIS_URL);
    const channel = new RedisChannel({ client, prefix });
    const received: string[] = [];
    try {
      await channel.subscribe('owned', (m) => void received.push(m));
      await channel.publish('owned', 'hi');
      await new Promise<void>((resolve) => {
        const poll = (): void => (received.length > 0 ? resolve() : void setTimeout(poll, 5));
        poll();
      });
      expect(received).toEqual(['hi']);
      await channel.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});
