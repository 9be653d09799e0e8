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
import type { KeyValueStore, TtlOptions } from './types.js';

/** What a compareAndSet asks of an adapter: `next` in place of `expected` (null: the key is absent). */
export interface Swap {
  readonly expected: string | null;
  readonly next: string;
  readonly ttlMs: number | undefined;
}

/**
 * What every key-value adapter does the same way, so that the three cannot drift apart: each
 * operation's arguments are checked (value, members, TTL, increment, compare-and-set), then the
 * store must be open and the key valid, then the adapter's own operation runs on the prefixed key
 * (`…At`) the adapter's way (`call`: in Redis under the command timeout, in SQLite with the
 * driver's errors made StorageErrors). A check that fails rejects; nothing throws synchronously.
 */
export abstract class CheckedKeyValueStore implements KeyValueStore {
  /** Prepended to every key. */
  protected readonly prefix: string;
  /** Names the adapter in a closed store's message (`RedisStore.get: the store is closed`). */
  readonly #name: string;

  constructor(name: string, prefix: unknown) {
    this.#name = name;
    this.prefix = checkPrefix(prefix);
  }

  async get(key: string): Promise<string | null> {
    return this.#at('get', key, (k) => this.getAt(k));
  }

  async set(key: string, value: string, options: TtlOptions): Promise<void> {
    checkValue(value);
    const ttlMs = checkTtl(options);
    await this.#at('set', key, (k) => this.setAt(k, value, ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    return this.#at('delete', key, (k) => this.deleteAt(k));
  }

  async take(key: string): Promise<string | null> {
    return this.#at('take', key, (k) => this.takeAt(k));
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: TtlOptions,
  ): Promise<boolean> {
    const ttlMs = checkCompareAndSet(expected, next, options);
    return this.#at('compareAndSet', key, (k) => this.compareAndSetAt(k, { expected, next, ttlMs }));
  }

  async increment(key: string, by: number, options: TtlOptions): Promise<number> {
    checkIncrement(by);
    const ttlMs = checkTtl(options);
    return this.#at('increment', key, (k) => this.incrementAt(k, by, ttlMs));
  }

  async setAdd(key: string, members: readonly string[], options: TtlOptions): Promise<number> {
    checkMembers(members);
    const ttlMs = checkTtl(options);
    return this.#at('setAdd', key, (k) => this.setAddAt(k, members, ttlMs));
  }

  async setRemove(key: string, members: readonly string[]): Promise<number> {
    checkMembers(members);
    return this.#at('setRemove', key, (k) => this.setRemoveAt(k, members));
  }

  async setMembers(key: string): Promise<string[]> {
    return this.#at('setMembers', key, (k) => this.setMembersAt(k));
  }

  async setHas(key: string, member: string): Promise<boolean> {
    checkValue(member, 'member');
    return this.#at('setHas', key, (k) => this.setHasAt(k, member));
  }

  async setSize(key: string): Promise<number> {
    return this.#at('setSize', key, (k) => this.setSizeAt(k));
  }

  async ttl(key: string): Promise<number | null> {
    return this.#at('ttl', key, (k) => this.ttlAt(k));
  }

  async expire(key: string, options: TtlOptions): Promise<boolean> {
    const ttlMs = checkTtl(options);
    return this.#at('expire', key, (k) => this.expireAt(k, ttlMs));
  }

  abstract close(): Promise<void>;

  /** Whether `close` has been called: every operation then rejects. */
  protected abstract get isClosed(): boolean;

  /** Runs one operation (named for messages) the adapter's way. */
  protected abstract call<T>(operation: string, body: () => T | Promise<T>): Promise<T>;

  protected abstract getAt(fullKey: string): string | null | Promise<string | null>;
  protected abstract setAt(fullKey: string, value: string, ttlMs: number | undefined): unknown;
  protected abstract deleteAt(fullKey: string): boolean | Promise<boolean>;
  protected abstract takeAt(fullKey: string): string | null | Promise<string | null>;
  protected abstract compareAndSetAt(fullKey: string, swap: Swap): boolean | Promise<boolean>;
  protected abstract incrementAt(
    fullKey: string,
    by: number,
    ttlMs: number | undefined,
  ): number | Promise<number>;
  protected abstract setAddAt(
    fullKey: string,
    members: readonly string[],
    ttlMs: number | undefined,
  ): number | Promise<number>;
  protected abstract setRemoveAt(fullKey: string, members: readonly string[]): number | Promise<number>;
  protected abstract setMembersAt(fullKey: string): string[] | Promise<string[]>;
  protected abstract setHasAt(fullKey: string, member: string): boolean | Promise<boolean>;
  protected abstract setSizeAt(fullKey: string): number | Promise<number>;
  protected abstract ttlAt(fullKey: string): number | null | Promise<number | null>;
  protected abstract expireAt(fullKey: string, ttlMs: number | undefined): boolean | Promise<boolean>;

  /** The store is open and the key valid: the operation on the full key, run the adapter's way. */
  async #at<T>(operation: string, key: string, body: (fullKey: string) => T | Promise<T>): Promise<T> {
    if (this.isClosed) throw closed(`${this.#name}.${operation}`);
    checkKey(key);
    const fullKey = this.prefix + key;
    return this.call(operation, () => body(fullKey));
  }
}
