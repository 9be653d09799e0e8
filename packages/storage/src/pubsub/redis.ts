import type { Cluster, Redis } from 'ioredis';
import { closed } from '../lib/errors.js';
import {
  type Connection,
  call,
  connect,
  disconnect,
  type RedisClient,
  type RedisConnectionOptions,
} from '../redis/connection.js';
import {
  checkHandler,
  checkMessage,
  checkTopic,
  deliver,
  type ErrorReporter,
  warnOnError,
} from './deliver.js';
import type { Channel, ChannelOptions, MessageHandler, Unsubscribe } from './types.js';

export interface RedisChannelOptions extends ChannelOptions, RedisConnectionOptions {
  /** Prepended to every topic's Redis channel name. Default: no prefix. */
  readonly prefix?: string;
}

interface Subscription {
  readonly handler: MessageHandler;
}

interface TopicState {
  readonly subscriptions: Set<Subscription>;
  /** Settles when Redis has acknowledged the SUBSCRIBE for this topic. */
  readonly ready: Promise<void>;
}

/**
 * A channel on Redis pub/sub, across machines. Publishing uses the (given or built) client;
 * receiving uses a dedicated connection duplicated from it, because a subscribed connection can
 * run no other command. ioredis re-issues the subscriptions after a reconnection; messages
 * published while disconnected are lost (Redis pub/sub is at most once).
 */
export class RedisChannel implements Channel {
  readonly #connection: Connection;
  readonly #subscriber: RedisClient;
  readonly #prefix: string;
  readonly #onError: ErrorReporter;
  readonly #topics = new Map<string, TopicState>();
  #closed = false;

  constructor(options: RedisChannelOptions = {}) {
    this.#prefix = options.prefix ?? '';
    this.#onError = options.onError ?? warnOnError;
    this.#connection = connect(options);
    this.#subscriber = this.#connection.client.duplicate();
    this.#subscriber.on('error', () => {
      // Connection errors surface as rejections of subscribe(); ioredis keeps reconnecting.
    });
    this.#subscriber.on('message', (channel: string, message: string) => this.#dispatch(channel, message));
  }

  async publish(topic: string, message: string): Promise<void> {
    if (this.#closed) throw closed('RedisChannel.publish');
    checkTopic(topic);
    checkMessage(message);
    const name = this.#prefix + topic;
    await call('RedisChannel.publish', this.#connection.timeoutMs, () =>
      publisherFor(this.#connection.client, name).publish(name, message),
    );
  }

  async subscribe(topic: string, handler: MessageHandler): Promise<Unsubscribe> {
    if (this.#closed) throw closed('RedisChannel.subscribe');
    checkTopic(topic);
    checkHandler(handler);
    const name = this.#prefix + topic;
    let state = this.#topics.get(name);
    if (state === undefined) {
      const ready = call('RedisChannel.subscribe', this.#connection.timeoutMs, async () => {
        await this.#subscriber.subscribe(name);
      });
      const created: TopicState = { subscriptions: new Set(), ready };
      state = created;
      this.#topics.set(name, created);
      ready.catch(() => {
        if (this.#topics.get(name) === created) this.#topics.delete(name);
      });
    }
    const subscription: Subscription = { handler };
    state.subscriptions.add(subscription);
    await state.ready;
    return () => this.#unsubscribe(name, subscription);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#topics.clear();
    await disconnect(this.#connection, this.#subscriber);
    if (this.#connection.owned) await disconnect(this.#connection);
  }

  async #unsubscribe(name: string, subscription: Subscription): Promise<void> {
    const state = this.#topics.get(name);
    if (state === undefined || !state.subscriptions.delete(subscription)) return;
    if (state.subscriptions.size > 0) return;
    this.#topics.delete(name);
    try {
      await call('RedisChannel.unsubscribe', this.#connection.timeoutMs, async () => {
        await this.#subscriber.unsubscribe(name);
      });
    } catch {
      // Redis is unreachable: with no local handler left, a message that still arrives is dropped.
    }
  }

  #dispatch(name: string, message: string): void {
    const state = this.#topics.get(name);
    if (state === undefined) return;
    const topic = name.slice(this.#prefix.length);
    for (const subscription of [...state.subscriptions]) {
      deliver(subscription.handler, message, topic, this.#onError);
    }
  }
}

/**
 * The connection a message for `name` is published on. A Cluster client sends a keyless command
 * such as PUBLISH to a random node, and messages entering the cluster bus at different nodes can
 * overtake each other; publishing every message of a topic through the same master keeps one
 * publisher's order (until the set of masters changes).
 */
function publisherFor(client: RedisClient, name: string): RedisClient {
  if (!client.isCluster) return client;
  const masters = (client as Cluster).nodes('master');
  if (masters.length === 0) return client;
  const address = (node: Redis): string => `${node.options.host}:${node.options.port}`;
  const sorted = [...masters].sort((a, b) => address(a).localeCompare(address(b)));
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  return sorted[hash % sorted.length] ?? client;
}
