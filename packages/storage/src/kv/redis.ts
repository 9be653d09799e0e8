import {
  type Connection,
  call,
  connect,
  disconnect,
  type RedisConnectionOptions,
} from '../redis/connection.js';
import { CheckedKeyValueStore, type Swap } from './base.js';
import { compareAndSetScript, expireScript, incrementScript, setAddScript } from './redis-scripts.js';
import type { KeyValueStoreOptions } from './types.js';

export interface RedisStoreOptions extends KeyValueStoreOptions, RedisConnectionOptions {}

/**
 * A store on Redis (standalone, Sentinel or Cluster), shared by any number of machines. Each
 * operation is one Redis command or one Lua script on one key, so Redis's single-threaded
 * execution makes it atomic: `take` is GETDEL, `compareAndSet` and `increment` are scripts.
 * Redis expires keys itself, so an expired key is never returned.
 */
export class RedisStore extends CheckedKeyValueStore {
  readonly #connection: Connection;
  #closed = false;
  /** Every call settles within the command timeout: `call` sets a timer on each. */
  readonly settlesWithinMs: number;

  constructor(options: RedisStoreOptions = {}) {
    super('RedisStore', options.prefix);
    this.#connection = connect(options, true);
    this.settlesWithinMs = this.#connection.timeoutMs;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#connection.owned) await disconnect(this.#connection);
  }

  protected get isClosed(): boolean {
    return this.#closed;
  }

  protected call<T>(operation: string, body: () => T | Promise<T>): Promise<T> {
    // A synchronous throw of `body` is call's to turn into a StorageError, as a rejection is.
    return call(`RedisStore.${operation}`, this.#connection, () => Promise.resolve(body()));
  }

  protected getAt(k: string): Promise<string | null> {
    return this.#client.get(k);
  }

  protected setAt(k: string, value: string, ttlMs: number | undefined): Promise<unknown> {
    return ttlMs === undefined ? this.#client.set(k, value) : this.#client.set(k, value, 'PX', ttlMs);
  }

  protected async deleteAt(k: string): Promise<boolean> {
    return (await this.#client.del(k)) > 0;
  }

  protected takeAt(k: string): Promise<string | null> {
    return this.#client.getdel(k);
  }

  protected async compareAndSetAt(k: string, { expected, next, ttlMs }: Swap): Promise<boolean> {
    if (expected === null) {
      const reply = await (ttlMs === undefined
        ? this.#client.set(k, next, 'NX')
        : this.#client.set(k, next, 'PX', ttlMs, 'NX'));
      return reply === 'OK';
    }
    return (await compareAndSetScript.run(this.#client, k, [expected, next, ttlMs ?? ''])) === 1;
  }

  protected async incrementAt(k: string, by: number, ttlMs: number | undefined): Promise<number> {
    return Number(await incrementScript.run(this.#client, k, [by, ttlMs ?? '']));
  }

  protected async setAddAt(
    k: string,
    members: readonly string[],
    ttlMs: number | undefined,
  ): Promise<number> {
    if (members.length === 0) return 0;
    return Number(await setAddScript.run(this.#client, k, [ttlMs ?? '', ...members]));
  }

  protected async setRemoveAt(k: string, members: readonly string[]): Promise<number> {
    return members.length === 0 ? 0 : this.#client.srem(k, ...members);
  }

  protected setMembersAt(k: string): Promise<string[]> {
    return this.#client.smembers(k);
  }

  protected async setHasAt(k: string, member: string): Promise<boolean> {
    return (await this.#client.sismember(k, member)) === 1;
  }

  protected setSizeAt(k: string): Promise<number> {
    return this.#client.scard(k);
  }

  protected async ttlAt(k: string): Promise<number | null> {
    const reply = await this.#client.pttl(k);
    if (reply === -2) return null;
    return reply === -1 ? Number.POSITIVE_INFINITY : reply;
  }

  protected async expireAt(k: string, ttlMs: number | undefined): Promise<boolean> {
    return (await expireScript.run(this.#client, k, [ttlMs ?? ''])) === 1;
  }

  get #client() {
    return this.#connection.client;
  }
}
