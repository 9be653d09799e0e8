import { closed } from '../lib/errors.js';
import {
  checkCompareAndSet,
  checkIncrement,
  checkKey,
  checkMembers,
  checkPrefix,
  checkTtl,
  checkValue,
} from '../lib/validate.js';
import {
  type Connection,
  call,
  connect,
  disconnect,
  type RedisConnectionOptions,
} from '../redis/connection.js';
import { compareAndSetScript, expireScript, incrementScript, setAddScript } from './redis-scripts.js';
import type { KeyValueStore, KeyValueStoreOptions, TtlOptions } from './types.js';

export interface RedisStoreOptions extends KeyValueStoreOptions, RedisConnectionOptions {}

/**
 * A store on Redis (standalone, Sentinel or Cluster), shared by any number of machines. Each
 * operation is one Redis command or one Lua script on one key, so Redis's single-threaded
 * execution makes it atomic: `take` is GETDEL, `compareAndSet` and `increment` are scripts.
 * Redis expires keys itself, so an expired key is never returned.
 */
export class RedisStore implements KeyValueStore {
  readonly #connection: Connection;
  readonly #prefix: string;
  #closed = false;
  /** Every call settles within the command timeout: `call` sets a timer on each. */
  readonly settlesWithinMs: number;

  constructor(options: RedisStoreOptions = {}) {
    this.#prefix = checkPrefix(options.prefix);
    this.#connection = connect(options, true);
    this.settlesWithinMs = this.#connection.timeoutMs;
  }

  get(key: string): Promise<string | null> {
    return this.#run('get', key, (k) => this.#client.get(k));
  }

  async set(key: string, value: string, options: TtlOptions): Promise<void> {
    checkValue(value);
    const ttlMs = checkTtl(options);
    await this.#run('set', key, (k) =>
      ttlMs === undefined ? this.#client.set(k, value) : this.#client.set(k, value, 'PX', ttlMs),
    );
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#run('delete', key, (k) => this.#client.del(k))) > 0;
  }

  async take(key: string): Promise<string | null> {
    return this.#run('take', key, (k) => this.#client.getdel(k));
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: TtlOptions,
  ): Promise<boolean> {
    const ttlMs = checkCompareAndSet(expected, next, options);
    if (expected === null) {
      const reply = await this.#run('compareAndSet', key, (k) =>
        ttlMs === undefined ? this.#client.set(k, next, 'NX') : this.#client.set(k, next, 'PX', ttlMs, 'NX'),
      );
      return reply === 'OK';
    }
    const reply = await this.#run('compareAndSet', key, (k) =>
      compareAndSetScript.run(this.#client, k, [expected, next, ttlMs ?? '']),
    );
    return reply === 1;
  }

  async increment(key: string, by: number, options: TtlOptions): Promise<number> {
    checkIncrement(by);
    const ttlMs = checkTtl(options);
    const reply = await this.#run('increment', key, (k) =>
      incrementScript.run(this.#client, k, [by, ttlMs ?? '']),
    );
    return Number(reply);
  }

  async setAdd(key: string, members: readonly string[], options: TtlOptions): Promise<number> {
    checkMembers(members);
    const ttlMs = checkTtl(options);
    if (members.length === 0) return this.#run('setAdd', key, async () => 0);
    const reply = await this.#run('setAdd', key, (k) =>
      setAddScript.run(this.#client, k, [ttlMs ?? '', ...members]),
    );
    return Number(reply);
  }

  async setRemove(key: string, members: readonly string[]): Promise<number> {
    checkMembers(members);
    if (members.length === 0) return this.#run('setRemove', key, async () => 0);
    return this.#run('setRemove', key, (k) => this.#client.srem(k, ...members));
  }

  async setMembers(key: string): Promise<string[]> {
    return this.#run('setMembers', key, (k) => this.#client.smembers(k));
  }

  async setHas(key: string, member: string): Promise<boolean> {
    checkValue(member, 'member');
    return (await this.#run('setHas', key, (k) => this.#client.sismember(k, member))) === 1;
  }

  async setSize(key: string): Promise<number> {
    return this.#run('setSize', key, (k) => this.#client.scard(k));
  }

  async ttl(key: string): Promise<number | null> {
    const reply = await this.#run('ttl', key, (k) => this.#client.pttl(k));
    if (reply === -2) return null;
    return reply === -1 ? Number.POSITIVE_INFINITY : reply;
  }

  async expire(key: string, options: TtlOptions): Promise<boolean> {
    const ttlMs = checkTtl(options);
    const reply = await this.#run('expire', key, (k) => expireScript.run(this.#client, k, [ttlMs ?? '']));
    return reply === 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#connection.owned) await disconnect(this.#connection);
  }

  get #client() {
    return this.#connection.client;
  }

  #run<T>(operation: string, key: string, run: (fullKey: string) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closed(`RedisStore.${operation}`));
    try {
      checkKey(key);
    } catch (error) {
      return Promise.reject(error);
    }
    const fullKey = this.#prefix + key;
    return call(`RedisStore.${operation}`, this.#connection, () => run(fullKey));
  }
}
