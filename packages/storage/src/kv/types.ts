/**
 * Expiry of an entry, in milliseconds from now. It is a required property so that "no expiry" is
 * always written out (`{ ttlMs: undefined }`) and never the result of a forgotten option.
 */
export interface TtlOptions {
  readonly ttlMs: number | undefined;
}

/**
 * A key-value store with expiry, shared by every instance of a service. Values are strings
 * (callers encode JSON themselves); a key holds either a string (which may be a counter) or a set
 * of strings. Every method is async and rejects with a `StorageError`:
 * `ERR_STORAGE_UNAVAILABLE` when the store cannot be reached or is closed,
 * `ERR_STORAGE_VALUE_INVALID` when an operation meets a key of the other kind (or a counter that
 * is not an integer). Invalid arguments reject with a `TesseraTypeError`.
 *
 * An expired entry is never returned, whether or not it has been purged yet.
 */
export interface KeyValueStore {
  /** The string stored at `key`, or `null` when absent or expired. */
  get(key: string): Promise<string | null>;
  /** Stores `value`, replacing whatever the key held (including its expiry). */
  set(key: string, value: string, options: TtlOptions): Promise<void>;
  /** Removes the key; true when it existed (and had not expired). */
  delete(key: string): Promise<boolean>;
  /**
   * Atomically returns the string at `key` and removes it: of any number of concurrent takes of
   * one key, exactly one gets the value (one-time codes).
   */
  take(key: string): Promise<string | null>;
  /**
   * Atomically replaces the value when it currently equals `expected` (`null`: only when the key
   * is absent). True when the value was written.
   */
  compareAndSet(key: string, expected: string | null, next: string, options: TtlOptions): Promise<boolean>;
  /**
   * Atomically adds `by` (a safe integer, may be negative) to the counter at `key` and returns the
   * new value. An absent key counts as 0; `ttlMs` applies only when this call creates the counter,
   * so a fixed window keeps its original end (rate limits).
   */
  increment(key: string, by: number, options: TtlOptions): Promise<number>;
  /**
   * Adds members to the set at `key` and returns how many were new. When `ttlMs` is a number the
   * set's expiry is moved to `ttlMs` from now; when undefined, the expiry is left as it was.
   */
  setAdd(key: string, members: readonly string[], options: TtlOptions): Promise<number>;
  /** Removes members and returns how many were present. An emptied set is deleted. */
  setRemove(key: string, members: readonly string[]): Promise<number>;
  /** The members of the set, in no particular order; empty when absent or expired. */
  setMembers(key: string): Promise<string[]>;
  /** Whether `member` is in the set. */
  setHas(key: string, member: string): Promise<boolean>;
  /** How many members the set has. */
  setSize(key: string): Promise<number>;
  /**
   * Milliseconds until the key expires: `null` when absent, `Number.POSITIVE_INFINITY` when it has
   * no expiry.
   */
  ttl(key: string): Promise<number | null>;
  /** Changes the expiry of an existing key (`undefined`: never expires). True when it existed. */
  expire(key: string, options: TtlOptions): Promise<boolean>;
  /** Releases timers and connections the store owns. Later calls reject as unavailable. */
  close(): Promise<void>;
  /**
   * When defined, the most milliseconds any call takes to settle, enforced by the store itself:
   * Redis's command timeout; 0 for the in-process stores, whose calls settle at once. A caller
   * whose own deadline is at least this long needs no timer of its own (a timer per call is a
   * measurable share of a session-mode request). Undefined: no bound is promised.
   */
  readonly settlesWithinMs?: number;
}

/** Options every adapter accepts. */
export interface KeyValueStoreOptions {
  /**
   * Prepended to every key, so that several applications or tests can share one backend without
   * seeing each other's keys. Default: no prefix.
   */
  readonly prefix?: string;
}

/** A clock in milliseconds since the epoch; injectable so tests can move time without sleeping. */
export type Clock = () => number;
