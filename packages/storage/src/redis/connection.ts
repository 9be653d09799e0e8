import { createHash } from 'node:crypto';
import { isTesseraError, TesseraTypeError, withDeadline } from '@tessera/core';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { unavailable, wrongKind } from '../lib/errors.js';
import { checkInterval } from '../lib/validate.js';

export type RedisClient = Redis | Cluster;

/**
 * How to reach Redis: an existing client, or what to build one from. Give at most one of
 * `client`, `cluster` and (`url` and/or `redis`); with none, a client for 127.0.0.1:6379 is built.
 */
export interface RedisConnectionOptions {
  /** An ioredis `Redis` or `Cluster` client to use as is; the caller keeps it and closes it. */
  readonly client?: RedisClient;
  /** A `redis://` or `rediss://` URL. */
  readonly url?: string;
  /**
   * ioredis options: host, port, password, tls... For Sentinel give `sentinels` (addresses of the
   * sentinels) and `name` (the monitored master group). They override the defaults below.
   */
  readonly redis?: RedisOptions;
  /** Redis Cluster: the startup nodes and ioredis cluster options. */
  readonly cluster?: { readonly nodes: readonly ClusterNode[]; readonly options?: ClusterOptions };
  /**
   * Milliseconds after which an operation rejects with `ERR_STORAGE_UNAVAILABLE` instead of
   * waiting for Redis to come back. Default 1 000.
   */
  readonly commandTimeoutMs?: number;
  /** Receives connection errors of a client built here (they are otherwise silent). */
  readonly onConnectionError?: (error: Error) => void;
}

export interface Connection {
  readonly client: RedisClient;
  /** Whether the client was built here (and so is closed here). */
  readonly owned: boolean;
  readonly timeoutMs: number;
  /** Where the client connects, with no password (`redis://127.0.0.1:6379`), for error messages. */
  readonly target: string | undefined;
  /** The last connection error since the client was last ready: why a call found it unavailable. */
  readonly lastError: () => string | undefined;
}

/** The URL without its credentials, or a refusal: a mistyped URL fails here, not as an outage. */
function redisTarget(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'url must be a redis:// or rediss:// URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'url must be a redis:// or rediss:// URL');
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
}

function describeTarget(options: RedisConnectionOptions): string | undefined {
  if (options.url !== undefined) return redisTarget(options.url);
  if (options.cluster !== undefined) {
    return `the cluster ${options.cluster.nodes.map((n) => (typeof n === 'object' ? `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}` : String(n))).join(',')}`;
  }
  const redis = options.redis;
  if (redis?.sentinels !== undefined) {
    return `the sentinels ${redis.sentinels.map((s) => `${s.host ?? '127.0.0.1'}:${s.port ?? 26379}`).join(',')} (${redis.name ?? 'mymaster'})`;
  }
  if (redis?.path !== undefined) return `redis+unix://${redis.path}`;
  return `redis://${redis?.host ?? '127.0.0.1'}:${redis?.port ?? 6379}`;
}

/**
 * Builds (or adopts) the client, configured so that no command waits forever. `autoPipeline`
 * batches the commands issued in one event-loop turn into one socket write (ioredis
 * `enableAutoPipelining`): under load each command otherwise costs a write syscall of its own,
 * measured at 11% of a gateway's session-mode request. Off for pub/sub connections.
 */
export function connect(options: RedisConnectionOptions, autoPipeline = false): Connection {
  const timeoutMs = checkInterval(options.commandTimeoutMs, 'commandTimeoutMs', 1_000);
  const given = [options.client, options.cluster, options.url ?? options.redis].filter(
    (x) => x !== undefined,
  );
  if (given.length > 1) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'give only one of client, cluster and url/redis');
  }
  if (options.client !== undefined) {
    return { client: options.client, owned: false, timeoutMs, target: undefined, lastError: () => undefined };
  }
  const target = describeTarget(options);

  // Commands issued while disconnected wait in the offline queue (so a store is usable right
  // after construction) but fail after one reconnection attempt or `timeoutMs`, whichever comes
  // first; reconnection itself goes on forever with a short backoff, so the store recovers alone.
  const reconnect = (times: number): number => Math.min(50 * times, 500);
  const base: RedisOptions = {
    enableAutoPipelining: autoPipeline,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnect,
    connectTimeout: Math.max(timeoutMs, 2_000),
  };
  const client =
    options.cluster === undefined
      ? options.url === undefined
        ? new Redis({ ...base, ...options.redis })
        : new Redis(options.url, { ...base, ...options.redis })
      : new Cluster([...options.cluster.nodes], {
          clusterRetryStrategy: reconnect,
          enableAutoPipelining: autoPipeline,
          ...options.cluster.options,
          redisOptions: {
            commandTimeout: timeoutMs,
            maxRetriesPerRequest: 1,
            ...options.cluster.options?.redisOptions,
          },
        });
  let lastError: string | undefined;
  client.on('ready', () => {
    lastError = undefined;
  });
  client.on('error', (error: Error) => {
    lastError = error.message;
    options.onConnectionError?.(error);
  });
  return { client, owned: true, timeoutMs, target, lastError: () => lastError };
}

/** Closes a client built here: politely when Redis answers, at once when it does not. */
export async function disconnect(connection: Connection, client = connection.client): Promise<void> {
  try {
    await call('quit', connection, () => client.quit());
  } catch {
    // Redis is gone or slow: drop the socket instead.
  } finally {
    client.disconnect();
  }
}

/**
 * Runs one Redis call, bounded by the timeout whatever the client's settings, and turns whatever
 * it throws into a StorageError. ioredis's own `commandTimeout` is not enough: a command issued
 * while an auto-pipeline is in flight is sent, and its timer started, only when that pipeline
 * ends (up to twice the timeout on a frozen Redis), a Lua call may be two commands, and a caller's
 * client or URL may set no timeout at all.
 */
export function call<T>(operation: string, connection: Connection, run: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = run();
  } catch (error) {
    return Promise.reject(toStorageError(operation, connection, error));
  }
  return withDeadline(
    pending,
    connection.timeoutMs,
    () => toStorageError(operation, connection, new Error(`no reply within ${connection.timeoutMs} ms`)),
    (error) => toStorageError(operation, connection, error),
  );
}

export function toStorageError(operation: string, connection: Connection, error: unknown): Error {
  if (isTesseraError(error) || error instanceof TesseraTypeError) return error;
  // Redis answered but refused: the key holds another type, or a counter is not an integer.
  // Any other refusal (LOADING, READONLY, CLUSTERDOWN, NOAUTH...) means it cannot serve us now.
  if (error instanceof Error && error.name === 'ReplyError') {
    if (error.message.includes('WRONGTYPE')) return wrongKind(operation);
    if (/not an integer|out of range|overflow/.test(error.message)) return wrongKind(operation, 'integer');
  }
  // Why, in the words that help: the connection's own error (ECONNREFUSED, a DNS failure, NOAUTH)
  // says more than the command's "max retries" or "connection is closed".
  const why =
    connection.client.status === 'ready'
      ? error instanceof Error
        ? error.message
        : undefined
      : (connection.lastError() ?? (error instanceof Error ? error.message : undefined));
  return unavailable(operation, error, connection.target, why);
}

/** A Lua script run by EVALSHA, loaded with EVAL when the server does not know it yet. */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, key: string, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return await client.eval(this.#source, 1, key, ...args);
    }
  }
}
