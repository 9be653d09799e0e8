import { parseCounter } from '../lib/counter.js';
import { closed, wrongKind } from '../lib/errors.js';
import {
  checkCompareAndSet,
  checkIncrement,
  checkInterval,
  checkKey,
  checkMembers,
  checkPrefix,
  checkTtl,
  checkValue,
} from '../lib/validate.js';
import type { Clock, KeyValueStore, KeyValueStoreOptions, TtlOptions } from './types.js';

export interface MemoryStoreOptions extends KeyValueStoreOptions {
  /** Milliseconds since the epoch; inject to move time in tests. Default `Date.now`. */
  readonly now?: Clock;
  /** How often expired entries are dropped from memory. Default 60 000 ms. */
  readonly sweepIntervalMs?: number;
}

type Entry =
  | { kind: 'string'; value: string; expiresAt: number | undefined }
  | { kind: 'set'; members: Set<string>; expiresAt: number | undefined };

/**
 * A store in this process's memory: for one machine, development and tests. Every operation runs
 * to completion synchronously inside its async call, so each one is atomic by construction.
 * Expiry is checked on every read; a periodic sweep (on an unref'd timer) only frees memory.
 */
export class MemoryStore implements KeyValueStore {
  #entries = new Map<string, Entry>();
  #now: Clock;
  readonly #prefix: string;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  /** Every call settles at once: nothing here waits on anything outside the process. */
  readonly settlesWithinMs = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#prefix = checkPrefix(options.prefix);
    this.#now = options.now ?? Date.now;
    const interval = checkInterval(options.sweepIntervalMs, 'sweepIntervalMs', 60_000);
    this.#sweeper = setInterval(() => this.#sweep(), interval);
    this.#sweeper.unref();
  }

  /**
   * A store on the same entries and clock under another prefix, so that several components of
   * one process can share one memory store the way they would share one Redis. The view has no
   * sweeper of its own, and closing it leaves this store open.
   */
  withPrefix(prefix: string): MemoryStore {
    const view = new MemoryStore({ prefix });
    clearInterval(view.#sweeper);
    view.#sweeper = undefined;
    view.#entries = this.#entries;
    view.#now = this.#now;
    return view;
  }

  async get(key: string): Promise<string | null> {
    return this.#string('get', key)?.value ?? null;
  }

  async set(key: string, value: string, options: TtlOptions): Promise<void> {
    const k = this.#key('set', key);
    checkValue(value);
    this.#entries.set(k, { kind: 'string', value, expiresAt: this.#expiry(checkTtl(options)) });
  }

  async delete(key: string): Promise<boolean> {
    const k = this.#key('delete', key);
    return this.#live(k) !== undefined && this.#entries.delete(k);
  }

  async take(key: string): Promise<string | null> {
    const entry = this.#string('take', key);
    if (entry === undefined) return null;
    this.#entries.delete(this.#prefix + key);
    return entry.value;
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: TtlOptions,
  ): Promise<boolean> {
    const k = this.#key('compareAndSet', key);
    const ttlMs = checkCompareAndSet(expected, next, options);
    const entry = this.#live(k);
    if (expected === null) {
      if (entry !== undefined) return false;
    } else {
      if (entry?.kind === 'set') throw wrongKind('compareAndSet', 'string');
      if (entry === undefined || entry.value !== expected) return false;
    }
    this.#entries.set(k, { kind: 'string', value: next, expiresAt: this.#expiry(ttlMs) });
    return true;
  }

  async increment(key: string, by: number, options: TtlOptions): Promise<number> {
    const k = this.#key('increment', key);
    checkIncrement(by);
    const ttlMs = checkTtl(options);
    const entry = this.#live(k);
    if (entry === undefined) {
      this.#entries.set(k, { kind: 'string', value: String(by), expiresAt: this.#expiry(ttlMs) });
      return by;
    }
    if (entry.kind === 'set') throw wrongKind('increment', 'integer');
    const current = parseCounter(entry.value);
    const next = current === undefined ? undefined : current + by;
    if (next === undefined || !Number.isSafeInteger(next)) throw wrongKind('increment', 'integer');
    entry.value = String(next);
    return next;
  }

  async setAdd(key: string, members: readonly string[], options: TtlOptions): Promise<number> {
    const k = this.#key('setAdd', key);
    checkMembers(members);
    const ttlMs = checkTtl(options);
    if (members.length === 0) return 0;
    let entry = this.#live(k);
    if (entry?.kind === 'string') throw wrongKind('setAdd', 'set');
    if (entry === undefined) {
      entry = { kind: 'set', members: new Set(), expiresAt: undefined };
      this.#entries.set(k, entry);
    }
    const before = entry.members.size;
    for (const member of members) entry.members.add(member);
    if (ttlMs !== undefined) entry.expiresAt = this.#expiry(ttlMs);
    return entry.members.size - before;
  }

  async setRemove(key: string, members: readonly string[]): Promise<number> {
    checkMembers(members);
    const entry = this.#set('setRemove', key);
    if (entry === undefined) return 0;
    let removed = 0;
    for (const member of members) if (entry.members.delete(member)) removed += 1;
    if (entry.members.size === 0) this.#entries.delete(this.#prefix + key);
    return removed;
  }

  async setMembers(key: string): Promise<string[]> {
    return [...(this.#set('setMembers', key)?.members ?? [])];
  }

  async setHas(key: string, member: string): Promise<boolean> {
    checkValue(member, 'member');
    return this.#set('setHas', key)?.members.has(member) ?? false;
  }

  async setSize(key: string): Promise<number> {
    return this.#set('setSize', key)?.members.size ?? 0;
  }

  async ttl(key: string): Promise<number | null> {
    const entry = this.#live(this.#key('ttl', key));
    if (entry === undefined) return null;
    return entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : entry.expiresAt - this.#now();
  }

  async expire(key: string, options: TtlOptions): Promise<boolean> {
    const entry = this.#live(this.#key('expire', key));
    const ttlMs = checkTtl(options);
    if (entry === undefined) return false;
    entry.expiresAt = this.#expiry(ttlMs);
    return true;
  }

  async close(): Promise<void> {
    // Entries are left to the garbage collector: views made by withPrefix may still use them.
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** The full key, after checking the store is open and the key valid. */
  #key(operation: string, key: string): string {
    if (this.#closed) throw closed(`MemoryStore.${operation}`);
    checkKey(key);
    return this.#prefix + key;
  }

  /** The entry at a full key unless it has expired (an expired one is dropped on the way). */
  #live(fullKey: string): Entry | undefined {
    const entry = this.#entries.get(fullKey);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#now()) {
      this.#entries.delete(fullKey);
      return undefined;
    }
    return entry;
  }

  #string(operation: string, key: string): Extract<Entry, { kind: 'string' }> | undefined {
    const entry = this.#live(this.#key(operation, key));
    if (entry?.kind === 'set') throw wrongKind(operation, 'string');
    return entry;
  }

  #set(operation: string, key: string): Extract<Entry, { kind: 'set' }> | undefined {
    const entry = this.#live(this.#key(operation, key));
    if (entry?.kind === 'string') throw wrongKind(operation, 'set');
    return entry;
  }

  #expiry(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? undefined : this.#now() + ttlMs;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}
