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
import { checkPublish, checkSubscribe, deliver, type ErrorReporter, warnOnError } from './deliver.js';
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
  /** The stream's end when the reader started: what it read after. */
  startId: string;
  /** The ids of the last entries delivered, oldest first, up to `recentIds`. */
  readonly recent: string[];
  /** Rejects the read under way: the connection it was sent on is gone. */
  interrupt: (() => void) | undefined;
  stopped: boolean;
}

// How long one XREAD waits on Redis for a new entry before asking again.
const blockMs = 2_000;
const readBatch = 100;
const field = 'm';
// How many delivered ids a reader remembers, to recognise a stream that lost only its newest entries.
const recentIds = 1_000;

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
  readonly #onConnectionError: ((error: Error) => void) | undefined;
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
    this.#onConnectionError = options.onConnectionError;
    this.#connection = connect(options);
  }

  async publish(topic: string, message: string): Promise<void> {
    checkPublish('RedisChannel.publish', this.#closed, topic, message);
    const key = this.#prefix + topic;
    await call('RedisChannel.publish', this.#connection, () =>
      this.#connection.client.xadd(key, 'MAXLEN', '~', this.#retained, '*', field, message),
    );
  }

  async subscribe(topic: string, handler: MessageHandler): Promise<Unsubscribe> {
    checkSubscribe('RedisChannel.subscribe', this.#closed, topic, handler);
    const key = this.#prefix + topic;
    let reader = this.#topics.get(key);
    if (reader === undefined) {
      reader = this.#startReader(topic, key);
      const started = reader;
      this.#topics.set(key, started);
      started.ready.catch(() => this.#stopReader(started));
    }
    const subscription: Subscription = { handler };
    reader.subscriptions.add(subscription);
    await reader.ready;
    return () => this.#unsubscribe(key, subscription);
  }

  async probe(): Promise<void> {
    if (this.#closed) throw closed('RedisChannel.probe');
    await call('RedisChannel.probe', this.#connection, () => this.#connection.client.ping());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const reader of [...this.#topics.values()]) this.#stopReader(reader);
    if (this.#connection.owned) await disconnect(this.#connection);
  }

  #startReader(topic: string, key: string): TopicReader {
    const client = readerClient(this.#connection.client, blockMs + this.#connection.timeoutMs);
    // Connection errors surface as failed reads, which are retried; ioredis keeps reconnecting.
    client.on('error', this.#onConnectionError ?? (() => {}));
    const reader: TopicReader = {
      topic,
      key,
      subscriptions: new Set(),
      client,
      lastId: '0-0',
      startId: '0-0',
      recent: [],
      interrupt: undefined,
      stopped: false,
      ready: call('RedisChannel.subscribe', this.#connection, () =>
        client.xrevrange(key, '+', '-', 'COUNT', 1),
      ).then((last) => {
        reader.lastId = last[0]?.[0] ?? '0-0';
        reader.startId = reader.lastId;
        void this.#read(reader);
      }),
    };
    // ioredis neither rejects nor (with autoResendUnfulfilledCommands off) resends a command left
    // unanswered by a lost connection: end the read here rather than at its timeout.
    client.on('close', () => reader.interrupt?.());
    return reader;
  }

  async #read(reader: TopicReader): Promise<void> {
    let failures = 0;
    while (!reader.stopped) {
      try {
        if (failures > 0) await this.#resync(reader);
        const reply = await this.#interruptible(
          reader,
          reader.client.xread('COUNT', readBatch, 'BLOCK', blockMs, 'STREAMS', reader.key, reader.lastId),
        );
        failures = 0;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            reader.lastId = id;
            reader.recent.push(id);
            if (reader.recent.length > recentIds) reader.recent.shift();
            const at = fields.indexOf(field);
            const message = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
            if (message !== undefined && !reader.stopped) this.#dispatch(reader, message);
          }
        }
      } catch (error) {
        if (reader.stopped) return;
        failures += 1;
        // Redis answered and refused (NOPERM, WRONGTYPE...): that will not pass by itself. Said once
        // a streak; a lost connection is not reported (ioredis reconnects).
        if (failures === 1 && error instanceof Error && error.name === 'ReplyError') {
          this.#onError(error, reader.topic);
        }
        // A read on a live socket that never answers (a frozen Redis) holds the connection: drop it.
        // One already reconnecting is left alone.
        if (reader.client.status === 'ready') reader.client.disconnect(true);
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * failures, 1_000)).unref());
      }
    }
  }

  /** `pending`, ended early by the loss of the reader's connection, and bounded in time. */
  #interruptible<T>(reader: TopicReader, pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      reader.interrupt = () => reject(new Error('connection lost'));
      withDeadline(pending, blockMs + this.#connection.timeoutMs, () => new Error('no reply')).then(
        resolve,
        reject,
      );
    }).finally(() => {
      reader.interrupt = undefined;
    });
  }

  /**
   * After a failure, where to read on from. A stream that ends before the last entry delivered
   * lost entries: a replica promoted before it had them, or a snapshot restored, ends on an
   * entry this reader delivered (or the one it started after), so it reads on from there and
   * sends nothing twice. A stream that ends anywhere else, or is gone, is a new one (a Redis that
   * restarted empty, whose clock may lag): its entries are all new, so it is read whole.
   */
  async #resync(reader: TopicReader): Promise<void> {
    const last = await call('RedisChannel.subscribe', this.#connection, () =>
      reader.client.xrevrange(reader.key, '+', '-', 'COUNT', 1),
    );
    const end = last[0]?.[0];
    if (end === undefined) {
      reader.lastId = '0-0';
    } else if (compareIds(end, reader.lastId) < 0) {
      reader.lastId = end === reader.startId || reader.recent.includes(end) ? end : '0-0';
    }
  }

  #dispatch(reader: TopicReader, message: string): void {
    for (const subscription of [...reader.subscriptions]) {
      deliver(subscription.handler, message, reader.topic, this.#onError);
    }
  }

  async #unsubscribe(key: string, subscription: Subscription): Promise<void> {
    const reader = this.#topics.get(key);
    if (reader === undefined || !reader.subscriptions.delete(subscription)) return;
    if (reader.subscriptions.size === 0) this.#stopReader(reader);
  }

  #stopReader(reader: TopicReader): void {
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
 * Sentinel group or Cluster, same credentials). It reads from masters only (a lagging replica
 * would look like a stream that lost entries); its command timeout outlasts a blocked XREAD; and
 * a read cut off by a lost connection is not sent again after the reconnection (a stale blocked
 * read would hold the new connection), so the reader checks the stream first.
 */
function readerClient(client: RedisClient, commandTimeout: number): RedisClient {
  const own = { commandTimeout, autoResendUnfulfilledCommands: false };
  if (client.isCluster) {
    const cluster = client as Cluster;
    return cluster.duplicate(undefined, {
      redisOptions: { ...cluster.options.redisOptions, ...own },
      scaleReads: 'master',
      enableAutoPipelining: false,
    });
  }
  return (client as Redis).duplicate({ ...own, role: 'master', enableAutoPipelining: false });
}
