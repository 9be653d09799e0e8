import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../test/support/eventually.js';
import { deleteKeysWithPrefix, REDIS_URL, randomPrefix } from '../../../../test/support/redis.js';
import { RedisChannel } from '../../src/pubsub/redis.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { describeChannelConformance } from './conformance.js';

const prefix = randomPrefix('pubsub');
afterAll(() => deleteKeysWithPrefix(prefix));

describeChannelConformance('RedisChannel', () => ({
  open: (options) => new RedisChannel({ url: REDIS_URL, prefix, ...options }),
  // Each topic's stream is a key under the prefix, deleted with the file's others.
  cleanup: async () => {},
}));

describe('RedisChannel (docs/security.md J129)', () => {
  it('appends to a stream under the prefixed key, trimmed to about retainedMessages', async () => {
    const reader = new Redis(REDIS_URL);
    const channel = new RedisChannel({ url: REDIS_URL, prefix, retainedMessages: 10 });
    try {
      await channel.publish('revocations', '{"kind":"sid"}');
      const entries = await reader.xrange(`${prefix}revocations`, '-', '+');
      expect(entries.map(([, fields]) => fields)).toEqual([['m', '{"kind":"sid"}']]);
      for (let i = 0; i < 1_000; i++) await channel.publish('trimmed', String(i));
      // MAXLEN ~ trims whole stream nodes (100 entries each by default): far below 1 000.
      expect(await reader.xlen(`${prefix}trimmed`)).toBeLessThanOrEqual(110);
    } finally {
      reader.disconnect();
      await channel.close();
    }
  });

  it('refuses a retainedMessages that is not a positive integer', () => {
    for (const retainedMessages of [0, -1, 1.5, Number.NaN]) {
      expect(() => new RedisChannel({ url: REDIS_URL, prefix, retainedMessages })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
      );
    }
  });

  interface CutOff {
    readonly proxy: TcpProxy;
    readonly publisher: RedisChannel;
    /** A plain client on the server, to change the stream as Redis itself might. */
    readonly raw: Redis;
    readonly key: string;
    readonly received: string[];
  }

  /**
   * A subscriber of `topic` that reaches Redis through a TCP proxy the test can cut, a publisher
   * and a plain client that reach it directly; everything closed afterwards.
   */
  async function withCutOffSubscriber(topic: string, run: (setup: CutOff) => Promise<void>): Promise<void> {
    const { hostname, port } = new URL(REDIS_URL);
    const proxy = new TcpProxy({ host: hostname, port: Number(port || 6379) });
    await proxy.start();
    const subscriber = new RedisChannel({ url: `redis://127.0.0.1:${proxy.port}`, prefix });
    const publisher = new RedisChannel({ url: REDIS_URL, prefix });
    const raw = new Redis(REDIS_URL);
    const received: string[] = [];
    try {
      await subscriber.subscribe(topic, (message) => {
        received.push(message);
      });
      await run({ proxy, publisher, raw, key: `${prefix}${topic}`, received });
    } finally {
      raw.disconnect();
      await subscriber.close();
      await publisher.close();
      await proxy.cut();
    }
  }

  it('delivers to a subscriber that was cut off what was published meanwhile, in order, once', () =>
    withCutOffSubscriber('cut', async ({ proxy, publisher, received }) => {
      await publisher.publish('cut', 'before');
      await eventually(() => expect(received).toEqual(['before']));

      await proxy.cut();
      for (const message of ['while cut 1', 'while cut 2', 'while cut 3']) {
        await publisher.publish('cut', message);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received).toEqual(['before']);

      await proxy.start();
      await publisher.publish('cut', 'after');
      await eventually(() =>
        expect(received).toEqual(['before', 'while cut 1', 'while cut 2', 'while cut 3', 'after']),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toHaveLength(5);
    }));

  it('reads a stream that came back shorter than it was (Redis restarted empty, a lagging clock) from its start', () =>
    withCutOffSubscriber('replaced', async ({ proxy, publisher, raw, key, received }) => {
      await publisher.publish('replaced', 'before');
      await eventually(() => expect(received).toEqual(['before']));
      await proxy.cut();
      // The stream as a Redis restarted empty, on a clock behind the old one, would write it.
      await raw.del(key);
      await raw.xadd(key, '1-1', 'm', 'after the restart');
      await proxy.start();
      await eventually(() => expect(received).toEqual(['before', 'after the restart']));
    }));

  it('reads on without repeats from a stream that lost only its newest entries (a failover, a snapshot)', () =>
    withCutOffSubscriber('prefix', async ({ proxy, publisher, raw, key, received }) => {
      for (const message of ['a', 'b', 'c']) await publisher.publish('prefix', message);
      await eventually(() => expect(received).toEqual(['a', 'b', 'c']));
      await proxy.cut();
      // The stream as a replica promoted before it got 'c' holds it: same ids, one entry short.
      const entries = await raw.xrange(key, '-', '+');
      await raw.del(key);
      for (const [id, fields] of entries.slice(0, 2)) await raw.xadd(key, id, ...fields);
      await proxy.start();
      // Give the reader its reconnection and its look at the stream before anything new arrives
      // (a newer entry would hide that the stream had come back short).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await publisher.publish('prefix', 'd');
      await eventually(() => expect(received).toEqual(['a', 'b', 'c', 'd']));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual(['a', 'b', 'c', 'd']);
    }));

  it('uses a caller-owned client for publishing and leaves it open on close', async () => {
    const client = new Redis(REDIS_URL);
    const channel = new RedisChannel({ client, prefix });
    const received: string[] = [];
    try {
      await channel.subscribe('owned', (m) => void received.push(m));
      await channel.publish('owned', 'hi');
      await eventually(() => expect(received).toEqual(['hi']));
      await channel.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});
