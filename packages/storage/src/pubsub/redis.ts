import { TesseraTypeError, withDeadline } from '@tessera/core';
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
  /** Prepended to every topic's Redis key. Default: no prefix. */
  readonly prefix?: string;
  /**
   * How many messages each topic keeps for subscribers that were cut off (approximately: Redis
   * trims whole nodes of the stream). Default 10 000.
   */
  readonly retainedMessages?: number;
}

interface Subscription {
  readonly handler: MessageHandler;
}

interface TopicReader {
  readonly topic: string;
  readonly key: string;
  readonly subscriptions: Set<Subscription>;
  /** A connection of its own: a blocked XREAD holds it. */
  readonly client: RedisClient;
  /** Settles once the reader knows where the stream ends (what "from now on" means). */
  readonly ready: Promise<void>;
  /** The id of the last entry delivered (or the stream's end when the reader started). */
  lastId: string;
  stopped: boolean;
}

// How long one XREAD waits on Redis for a new entry before asking again.
const blockMs = 2_000;
const readBatch = 100;
const field = 'm';

/**
 * A channel on Redis, across machines: each topic is a Redis stream. `publish` appends (XADD,
 * trimmed to about `retainedMessages`); each subscribed topic has a reader on a connection of its
 * own, blocked in XREAD after the last entry it delivered. A subscriber cut off from Redis, or
 * whose Redis failed over, reads on from that entry when it is back, so it misses nothing
 * published meanwhile while the stream still holds it. (Redis pub/sub, which this replaced, drops
 * every message sent while a subscriber's connection is down: a revocation event then never
 * reaches that resource server.)
 */
export class RedisChannel implements Channel {
  readonly #connection: Connection;
  readonly #prefix: string;
  readonly #retained: number;
  readonly #onError: ErrorReporter;
  readonly #topics = new Map<string, TopicReader>();
  #closed = false;

  constructor(options: RedisChannelOptions = {}) {
    this.#prefix = options.prefix ?? '';
    const retained = options.retainedMessages ?? 10_000;
    if (!Number.isSafeInteger(retained) || retained < 1) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'retainedMessages must be a positive integer');
    }
    this.#retained = retained;
    this.#onError = options.onError ?? warnOnError;
    this.#connection = connect(options);
  }

  async publish(topic: string, message: string): Promise<void> {
    if (this.#closed) throw closed('RedisChannel.publish');
    checkTopic(topic);
    checkMessage(message);
    const key = this.#prefix + topic;
    await call('RedisChannel.publish', this.#connection.timeoutMs, () =>
      this.#connection.client.xadd(key, 'MAXLEN', '~', this.#retained, '*', field, message),
    );
  }

  async subscribe(topic: string, handler: MessageHandler): Promise<Unsubscribe> {
    if (this.#closed) throw closed('RedisChannel.subscribe');
    checkTopic(topic);
    checkHandler(handler);
    const key = this.#prefix + topic;
    let reader = this.#topics.get(key);
    if (reader === undefined) {
      reader = this.#startReader(topic, key);
      const started = reader;
      this.#topics.set(key, started);
      started.ready.catch(() => {
        if (this.#topics.get(key) === started) this.#stopReader(started);
      });
    }
    const subscription: Subscription = { handler };
    reader.subscriptions.add(subscription);
    await reader.ready;
    return () => this.#unsubscribe(key, subscription);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const readers = [...this.#topics.values()];
    this.#topics.clear();
    await Promise.all(readers.map((reader) => this.#stopReader(reader)));
    if (this.#connection.owned) await disconnect(this.#connection);
  }

  #startReader(topic: string, key: string): TopicReader {
    const client = readerClient(this.#connection.client, blockMs + this.#connection.timeoutMs);
    client.on('error', () => {
      // Connection errors surface as failed reads, which are retried; ioredis keeps reconnecting.
    });
    const reader: TopicReader = {
      topic,
      key,
      subscriptions: new Set(),
      client,
      lastId: '0-0',
      stopped: false,
      ready: call('RedisChannel.subscribe', this.#connection.timeoutMs, () =>
        client.xrevrange(key, '+', '-', 'COUNT', 1),
      ).then((last) => {
        reader.lastId = last[0]?.[0] ?? '0-0';
        void this.#read(reader);
      }),
    };
    return reader;
  }

  async #read(reader: TopicReader): Promise<void> {
    let failures = 0;
    while (!reader.stopped) {
      try {
        if (failures > 0) await this.#resync(reader);
        const reply = await withDeadline(
          reader.client.xread('COUNT', readBatch, 'BLOCK', blockMs, 'STREAMS', reader.key, reader.lastId),
          blockMs + this.#connection.timeoutMs,
          () => new Error('no reply'),
        );
        failures = 0;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            reader.lastId = id;
            const at = fields.indexOf(field);
            const message = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
            if (message !== undefined && !reader.stopped) this.#dispatch(reader, message);
          }
        }
      } catch {
        if (reader.stopped) return;
        // Cut off, failed over or frozen: drop the connection (a frozen read would hold it) and
        // read on from the last delivered entry once Redis answers again.
        failures += 1;
        reader.client.disconnect(true);
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * failures, 1_000)));
      }
    }
  }

  /**
   * After a failure: a stream that now ends before the last entry delivered (or is gone) is not
   * the one read so far but a new one, on a Redis that restarted empty or failed over to a
   * replica that had not got it, whose clock may lag; its entries are all new, so read it whole.
   */
  async #resync(reader: TopicReader): Promise<void> {
    const last = await call('RedisChannel.subscribe', this.#connection.timeoutMs, () =>
      reader.client.xrevrange(reader.key, '+', '-', 'COUNT', 1),
    );
    const end = last[0]?.[0];
    if (end === undefined || compareIds(end, reader.lastId) < 0) reader.lastId = '0-0';
  }

  #dispatch(reader: TopicReader, message: string): void {
    for (const subscription of [...reader.subscriptions]) {
      deliver(subscription.handler, message, reader.topic, this.#onError);
    }
  }

  async #unsubscribe(key: string, subscription: Subscription): Promise<void> {
    const reader = this.#topics.get(key);
    if (reader === undefined || !reader.subscriptions.delete(subscription)) return;
    if (reader.subscriptions.size > 0) return;
    this.#topics.delete(key);
    await this.#stopReader(reader);
  }

  async #stopReader(reader: TopicReader): Promise<void> {
    reader.stopped = true;
    if (this.#topics.get(reader.key) === reader) this.#topics.delete(reader.key);
    // A blocked XREAD would hold a polite QUIT for up to `blockMs`: drop the socket at once.
    reader.client.disconnect();
  }
}

/** Orders two stream ids (`<ms>-<seq>`, each up to 64 bits). */
function compareIds(a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  const ms = BigInt(aMs) - BigInt(bMs);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(aSeq) - BigInt(bSeq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/**
 * A connection for one topic's reader, duplicated from the channel's client (same server,
 * Sentinel group or Cluster, same credentials). Its command timeout outlasts a blocked XREAD, and
 * a read cut off by a lost connection fails instead of being sent again after the reconnection,
 * so the reader sees the failure and checks the stream is still the one it was reading.
 */
function readerClient(client: RedisClient, commandTimeout: number): RedisClient {
  const own = { commandTimeout, autoResendUnfulfilledCommands: false };
  if (client.isCluster) {
    const cluster = client as Cluster;
    return cluster.duplicate(undefined, {
      redisOptions: { ...cluster.options.redisOptions, ...own },
      enableAutoPipelining: false,
    });
  }
  return (client as Redis).duplicate({ ...own, enableAutoPipelining: false });
}
