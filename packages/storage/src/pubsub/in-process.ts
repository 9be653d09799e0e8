import { checkPublish, checkSubscribe, deliver, type ErrorReporter, warnOnError } from './deliver.js';
import type { Channel, ChannelOptions, MessageHandler, Unsubscribe } from './types.js';

/** One subscription; its identity lets the same handler be subscribed twice and removed once. */
interface Subscription {
  readonly handler: MessageHandler;
}

/**
 * A channel inside one process (one machine, development, tests). Each publish schedules one
 * microtask that delivers to the handlers subscribed at that moment and still subscribed when it
 * runs, so a publisher is never re-entered and messages keep their order.
 */
export class InProcessChannel implements Channel {
  readonly #topics = new Map<string, Set<Subscription>>();
  readonly #onError: ErrorReporter;
  #closed = false;

  constructor(options: ChannelOptions = {}) {
    this.#onError = options.onError ?? warnOnError;
  }

  async publish(topic: string, message: string): Promise<void> {
    checkPublish('InProcessChannel.publish', this.#closed, topic, message);
    const subscriptions = this.#topics.get(topic);
    if (subscriptions === undefined) return;
    const snapshot = [...subscriptions];
    queueMicrotask(() => {
      for (const subscription of snapshot) {
        if (this.#topics.get(topic)?.has(subscription)) {
          deliver(subscription.handler, message, topic, this.#onError);
        }
      }
    });
  }

  async subscribe(topic: string, handler: MessageHandler): Promise<Unsubscribe> {
    checkSubscribe('InProcessChannel.subscribe', this.#closed, topic, handler);
    const subscription: Subscription = { handler };
    let subscriptions = this.#topics.get(topic);
    if (subscriptions === undefined) {
      subscriptions = new Set();
      this.#topics.set(topic, subscriptions);
    }
    subscriptions.add(subscription);
    return async () => {
      const current = this.#topics.get(topic);
      if (current === undefined || !current.delete(subscription)) return;
      if (current.size === 0) this.#topics.delete(topic);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#topics.clear();
  }
}
