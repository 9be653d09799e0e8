import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../test/support/eventually.js';
import type { Channel, ChannelOptions } from '../../src/pubsub/types.js';
import { expectStorageError, expectTypeError } from '../helpers/errors.js';

export interface ChannelHarness {
  /** Opens a channel on the harness's shared backend: channels opened here reach each other. */
  open(options?: ChannelOptions): Channel;
  cleanup(): Promise<void>;
}

/**
 * The behaviour every Channel must have, run unchanged on each implementation. Negative checks
 * ("was not delivered") publish a marker afterwards from the same publisher and wait for it:
 * since one publisher's messages arrive in order, anything wrongly delivered would be there first.
 */
export function describeChannelConformance(
  name: string,
  factory: () => ChannelHarness | Promise<ChannelHarness>,
): void {
  describe(`Channel conformance: ${name}`, () => {
    let harness: ChannelHarness;
    let opened: Channel[] = [];
    let counter = 0;
    let topic = 'topic-0';

    beforeAll(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await Promise.all(opened.map((channel) => channel.close()));
      opened = [];
      topic = `topic-${++counter}`;
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    const open = (options?: ChannelOptions): Channel => {
      const channel = harness.open(options);
      opened.push(channel);
      return channel;
    };

    /** Subscribes a marker handler; `flush()` publishes a marker and waits until it arrives. */
    const barrier = async (publisher: Channel, subscriber: Channel) => {
      let seen = 0;
      let sent = 0;
      await subscriber.subscribe(`${topic}-barrier`, () => {
        seen += 1;
      });
      return async () => {
        sent += 1;
        await publisher.publish(`${topic}-barrier`, 'marker');
        await eventually(() => expect(seen).toBe(sent));
      };
    };

    it('delivers a message with its topic to a subscriber', async () => {
      const channel = open();
      const received: [string, string][] = [];
      await channel.subscribe(`${topic}-a`, (message, from) => {
        received.push([message, from]);
      });
      await channel.publish(`${topic}-a`, 'hello');
      await eventually(() => expect(received).toEqual([['hello', `${topic}-a`]]));
    });

    it('delivers to every subscriber, on the same channel and on another one', async () => {
      const publisher = open();
      const other = open();
      const got = { first: [] as string[], second: [] as string[], remote: [] as string[] };
      await publisher.subscribe(topic, (m) => void got.first.push(m));
      await publisher.subscribe(topic, (m) => void got.second.push(m));
      await other.subscribe(topic, (m) => void got.remote.push(m));
      await publisher.publish(topic, 'to all');
      await eventually(() =>
        expect(got).toEqual({ first: ['to all'], second: ['to all'], remote: ['to all'] }),
      );
    });

    it('stops delivering to an unsubscribed handler only', async () => {
      const channel = open();
      const flush = await barrier(channel, channel);
      const kept: string[] = [];
      const dropped: string[] = [];
      await channel.subscribe(topic, (m) => void kept.push(m));
      const unsubscribe = await channel.subscribe(topic, (m) => void dropped.push(m));
      await channel.publish(topic, 'one');
      await flush();
      await unsubscribe();
      await unsubscribe();
      await channel.publish(topic, 'two');
      await flush();
      expect(kept).toEqual(['one', 'two']);
      expect(dropped).toEqual(['one']);
    });

    it('delivers nothing after the last handler of a topic unsubscribes, and again after resubscribing', async () => {
      const channel = open();
      const flush = await barrier(channel, channel);
      const received: string[] = [];
      const unsubscribe = await channel.subscribe(topic, (m) => void received.push(m));
      await unsubscribe();
      await channel.publish(topic, 'nobody listens');
      await flush();
      await channel.subscribe(topic, (m) => void received.push(m));
      await channel.publish(topic, 'back');
      await eventually(() => expect(received).toEqual(['back']));
    });

    it('keeps topics apart', async () => {
      const channel = open();
      const flush = await barrier(channel, channel);
      const a: string[] = [];
      const b: string[] = [];
      await channel.subscribe(`${topic}-a`, (m) => void a.push(m));
      await channel.subscribe(`${topic}-b`, (m) => void b.push(m));
      await channel.publish(`${topic}-a`, 'for a');
      await channel.publish(`${topic}-c`, 'for nobody');
      await flush();
      expect(a).toEqual(['for a']);
      expect(b).toEqual([]);
    });

    it('keeps the order of one publisher', async () => {
      const publisher = open();
      const subscriber = open();
      const received: string[] = [];
      await subscriber.subscribe(topic, (m) => void received.push(m));
      const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((message) => publisher.publish(topic, message)));
      await eventually(() => expect(received).toHaveLength(200));
      expect(received).toEqual(sent);
    });

    it('never calls a handler inside publish', async () => {
      const channel = open();
      let publishing = false;
      const calledDuringPublish: boolean[] = [];
      await channel.subscribe(topic, () => void calledDuringPublish.push(publishing));
      publishing = true;
      const published = channel.publish(topic, 'm');
      publishing = false;
      await published;
      await eventually(() => expect(calledDuringPublish).toEqual([false]));
    });

    it('keeps unicode and large messages exactly', async () => {
      const channel = open();
      const received: string[] = [];
      await channel.subscribe(topic, (m) => void received.push(m));
      const messages = ['{"kind":"jti","value":"ü👋🏽"}', 'z'.repeat(256 * 1024), ''];
      for (const message of messages) await channel.publish(topic, message);
      await eventually(() => expect(received).toEqual(messages));
    });

    it('reports throwing and rejecting handlers to onError and keeps delivering', async () => {
      const errors: [unknown, string][] = [];
      const channel = open({ onError: (error, from) => void errors.push([error, from]) });
      const received: string[] = [];
      const thrown = new Error('handler broke');
      const rejected = new Error('async handler broke');
      await channel.subscribe(topic, () => {
        throw thrown;
      });
      await channel.subscribe(topic, async () => {
        throw rejected;
      });
      await channel.subscribe(topic, (m) => void received.push(m));
      await channel.publish(topic, 'one');
      await channel.publish(topic, 'two');
      await eventually(() => expect(received).toEqual(['one', 'two']));
      await eventually(() => expect(errors).toHaveLength(4));
      expect(errors).toContainEqual([thrown, topic]);
      expect(errors).toContainEqual([rejected, topic]);
    });

    it('survives an onError that throws', async () => {
      const channel = open({
        onError: () => {
          throw new Error('reporter broke');
        },
      });
      const received: string[] = [];
      await channel.subscribe(topic, () => {
        throw new Error('handler broke');
      });
      await channel.subscribe(topic, (m) => void received.push(m));
      await channel.publish(topic, 'still here');
      await eventually(() => expect(received).toEqual(['still here']));
    });

    it('rejects bad arguments with a TesseraTypeError', async () => {
      const channel = open();
      await expectTypeError(channel.publish('', 'm'), 'ERR_INVALID_TOPIC');
      await expectTypeError(channel.publish(topic, 5 as unknown as string), 'ERR_INVALID_VALUE');
      await expectTypeError(channel.subscribe(topic, 'nope' as unknown as () => void), 'ERR_INVALID_HANDLER');
    });

    it('rejects with ERR_STORAGE_UNAVAILABLE after close and delivers nothing more', async () => {
      const publisher = open();
      const subscriber = open();
      const received: string[] = [];
      await subscriber.subscribe(topic, (m) => void received.push(m));
      await subscriber.close();
      await subscriber.close();
      await publisher.publish(topic, 'after close');
      await expectStorageError(subscriber.publish(topic, 'm'), 'ERR_STORAGE_UNAVAILABLE');
      await expectStorageError(
        subscriber.subscribe(topic, () => {}),
        'ERR_STORAGE_UNAVAILABLE',
      );
      const flush = await barrier(publisher, publisher);
      await flush();
      expect(received).toEqual([]);
    });
  });
}
