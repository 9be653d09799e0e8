import { describe, expect, it } from 'vitest';
import { InProcessChannel } from '../../src/pubsub/in-process.js';
import type { Channel, ChannelOptions } from '../../src/pubsub/types.js';
import { describeChannelConformance } from './conformance.js';

/**
 * An in-process channel reaches only its own subscribers, so the harness hands out views of one
 * channel: each "open" shares the topics but can be closed (and given onError) on its own.
 */
function shared(): { open(options?: ChannelOptions): Channel; cleanup(): Promise<void> } {
  const channels: InProcessChannel[] = [];
  const open = (options?: ChannelOptions): Channel => {
    const own = new InProcessChannel(options);
    channels.push(own);
    // Publishing fans out to every open channel of the harness, as Redis does across connections.
    return {
      publish: async (topic, message) => {
        await own.publish(topic, message);
        await Promise.all(
          channels.filter((c) => c !== own).map((c) => c.publish(topic, message).catch(() => {})),
        );
      },
      subscribe: (topic, handler) => own.subscribe(topic, handler),
      close: () => own.close(),
    };
  };
  return { open, cleanup: async () => {} };
}

describeChannelConformance('InProcessChannel', shared);

describe('InProcessChannel', () => {
  it('delivers in a microtask: after publish returns control, before any timer', async () => {
    const channel = new InProcessChannel();
    const order: string[] = [];
    await channel.subscribe('t', () => void order.push('handler'));
    setTimeout(() => order.push('timer'), 0);
    const published = channel.publish('t', 'm');
    order.push('after publish');
    await published;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(order).toEqual(['after publish', 'handler', 'timer']);
    await channel.close();
  });

  it('delivers once per subscription, even for the same handler subscribed twice', async () => {
    const channel = new InProcessChannel();
    const received: string[] = [];
    const handler = (m: string): void => void received.push(m);
    const first = await channel.subscribe('t', handler);
    await channel.subscribe('t', handler);
    await channel.publish('t', 'a');
    await first();
    await channel.publish('t', 'b');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(received).toEqual(['a', 'a', 'b']);
    await channel.close();
  });
});
