import { parseCounter } from '../lib/counter.js';
import { wrongKind } from '../lib/errors.js';
import { checkInterval } from '../lib/validate.js';
import { CheckedKeyValueStore, type Swap } from './base.js';
import type { Clock, KeyValueStoreOptions } from './types.js';

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
export class MemoryStore extends CheckedKeyValueStore {
  #entries = new Map<string, Entry>();
  #now: Clock;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  /** Every call settles at once: nothing here waits on anything outside the process. */
  readonly settlesWithinMs = 0;

  constructor(options: MemoryStoreOptions = {}) {
    super('MemoryStore', options.prefix);
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

  protected getAt(k: string): string | null {
    return this.#string('get', k)?.value ?? null;
  }

  protected setAt(k: string, value: string, ttlMs: number | undefined): void {
    this.#entries.set(k, { kind: 'string', value, expiresAt: this.#expiry(ttlMs) });
  }

  protected deleteAt(k: string): boolean {
    return this.#live(k) !== undefined && this.#entries.delete(k);
  }

  protected takeAt(k: string): string | null {
    const entry = this.#string('take', k);
    if (entry === undefined) return null;
    this.#entries.delete(k);
    return entry.value;
  }

  protected compareAndSetAt(k: string, { expected, next, ttlMs }: Swap): boolean {
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

  protected incrementAt(k: string, by: number, ttlMs: number | undefined): number {
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

  protected setAddAt(k: string, members: readonly string[], ttlMs: number | undefined): number {
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

  protected setRemoveAt(k: string, members: readonly string[]): number {
    const entry = this.#set('setRemove', k);
    if (entry === undefined) return 0;
    let removed = 0;
    for (const member of members) if (entry.members.delete(member)) removed += 1;
    if (entry.members.size === 0) this.#entries.delete(k);
    return removed;
  }

  protected setMembersAt(k: string): string[] {
    return [...(this.#set('setMembers', k)?.members ?? [])];
  }

  protected setHasAt(k: string, member: string): boolean {
    return this.#set('setHas', k)?.members.has(member) ?? false;
  }

  protected setSizeAt(k: string): number {
    return this.#set('setSize', k)?.members.size ?? 0;
  }

  protected ttlAt(k: string): number | null {
    const entry = this.#live(k);
    if (entry === undefined) return null;
    return entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : entry.expiresAt - this.#now();
  }

  protected expireAt(k: string, ttlMs: number | undefined): boolean {
    const entry = this.#live(k);
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

  protected get isClosed(): boolean {
    return this.#closed;
  }

  /** Every operation runs to completion synchronously: nothing to wrap. */
  protected async call<T>(_operation: string, body: () => T | Promise<T>): Promise<T> {
    return body();
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

  #string(operation: string, fullKey: string): Extract<Entry, { kind: 'string' }> | undefined {
    const entry = this.#live(fullKey);
    if (entry?.kind === 'set') throw wrongKind(operation, 'string');
    return entry;
  }

  #set(operation: string, fullKey: string): Extract<Entry, { kind: 'set' }> | undefined {
    const entry = this.#live(fullKey);
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
