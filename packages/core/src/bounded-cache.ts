import { TesseraTypeError } from './errors/base.js';

export interface BoundedCacheOptions {
  /** Most entries kept; a positive whole number. */
  readonly max: number;
  /**
   * The clock an entry's `expiresAt` is compared with, in whatever unit the caller gives
   * `expiresAt` (ms, s). Read only on a hit of an entry that has one. Default `Date.now`.
   */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number | undefined;
  /** The insertion count when it was last put at the young end. */
  touched: number;
}

/**
 * The one in-memory cache of Tessera's parts: at most `max` entries, the least recently used
 * dropped first, an entry with `expiresAt` never returned once `now()` reaches it. A Map iterates
 * in insertion order, so its first key is the one to drop. A hit moves its entry to the young end
 * only once `max / 2` insertions have come after it: that spares the move (a delete and a set) on
 * most hits of a busy key, while no entry used within the last `max / 2` insertions is ever the
 * next one dropped. Memory is bounded by `max` whatever the keys (a flood of distinct ones only
 * pushes the others out).
 */
export class BoundedCache<V> {
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<V>>();
  #insertions = 0;

  constructor(options: BoundedCacheOptions) {
    if (!Number.isSafeInteger(options.max) || options.max <= 0) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'a cache max must be a positive whole number');
    }
    this.#max = options.max;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value under `key`, or undefined when there is none or it has expired (then it is dropped). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && this.#now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    if (this.#insertions - entry.touched >= this.#max / 2) {
      this.#entries.delete(key);
      entry.touched = ++this.#insertions;
      this.#entries.set(key, entry);
    }
    return entry.value;
  }

  /** Puts `value` under `key` at the young end, dropping the least recently used entry when full. */
  set(key: string, value: V, expiresAt?: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt, touched: ++this.#insertions });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
