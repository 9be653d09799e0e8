import { isIPv4, isIPv6 } from 'node:net';
import { sha256Base64url, TesseraTypeError } from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';
import { loginRateLimited } from './errors.js';
import { usernameKey } from './username.js';

/**
 * Growing back-off for one scope (a username or an address). Every attempt is counted when it
 * starts; once `freeAttempts` have been counted, each further attempt locks the scope for
 * `baseLockMs * 2^(attempts - freeAttempts)`, capped at `maxLockMs`. A locked scope refuses
 * attempts without counting them. The count is forgotten `windowMs` after the last attempt.
 */
export interface BackoffPolicy {
  readonly freeAttempts: number;
  readonly baseLockMs: number;
  readonly maxLockMs: number;
  readonly windowMs: number;
}

export const defaultUsernamePolicy: BackoffPolicy = Object.freeze({
  freeAttempts: 5,
  baseLockMs: 1000,
  maxLockMs: 15 * 60_000,
  windowMs: 60 * 60_000,
});

// An address may be a NAT or a proxy shared by many people, so it gets more room than a username.
export const defaultAddressPolicy: BackoffPolicy = Object.freeze({
  freeAttempts: 20,
  baseLockMs: 1000,
  maxLockMs: 15 * 60_000,
  windowMs: 60 * 60_000,
});

export interface LoginRateLimiterOptions {
  /** Where counters live; share one store (Redis) between instances so limits hold across them. */
  readonly store: KeyValueStore;
  /**
   * Prepended to every key. Default `login:`. It names the user directory the limits guard: every
   * door onto one directory (the token service's login form, a gateway's `/auth/login`) must use
   * the same store and prefix, so a user has one budget whichever door is tried. The token service
   * and the gateway both use the default.
   */
  readonly prefix?: string;
  readonly username?: Partial<BackoffPolicy>;
  readonly address?: Partial<BackoffPolicy>;
  /** Clock in ms; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

export interface LoginAttemptSubject {
  /** As typed by the user; normalised like the directory's lookup key, so `Alice` and `alice` share a limit. */
  readonly username: string;
  /** The client's address (IP) as the edge saw it. */
  readonly address: string;
}

/** An attempt that was allowed to go on; tell the limiter how it ended. */
export interface LoginAttempt {
  /** The password was right: the username's count is reset and the attempt is not held against the address. */
  succeeded(): Promise<void>;
}

interface ScopeState {
  readonly n: number;
  readonly until: number;
}

type Reservation =
  | { readonly locked: false; readonly key: string; readonly until: number; readonly previousUntil: number }
  | { readonly locked: true; readonly until: number };

const CAS_ATTEMPTS = 8;

function resolvePolicy(given: Partial<BackoffPolicy> | undefined, fallback: BackoffPolicy, name: string) {
  const policy = { ...fallback, ...given };
  for (const [field, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TesseraTypeError('ERR_INVALID_RATE_LIMIT', `${name}.${field} must be a positive integer`);
    }
  }
  if (policy.maxLockMs < policy.baseLockMs) {
    throw new TesseraTypeError('ERR_INVALID_RATE_LIMIT', `${name}.maxLockMs must be at least baseLockMs`);
  }
  return Object.freeze(policy);
}

function digest(text: string): string {
  // Hashed so that a key never holds what a user typed and is short whatever was sent.
  return sha256Base64url(text);
}

function parseState(raw: string | null): ScopeState {
  if (raw === null) return { n: 0, until: 0 };
  try {
    const value = JSON.parse(raw) as Partial<ScopeState>;
    if (Number.isSafeInteger(value.n) && Number.isSafeInteger(value.until)) {
      return { n: value.n as number, until: value.until as number };
    }
  } catch {
    // fall through: an unreadable counter starts again rather than locking someone out for ever
  }
  return { n: 0, until: 0 };
}

/** The eight 16-bit groups of an IPv6 address (zone and embedded IPv4 resolved), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  const zone = address.indexOf('%');
  const text = zone === -1 ? address : address.slice(0, zone);
  if (!isIPv6(text)) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = body.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...Array.from({ length: rest === undefined ? 0 : missing }, () => '0'), ...right];
  return groups.length === 8 ? groups.map((group) => Number.parseInt(group, 16)) : undefined;
}

/**
 * The scope an address is counted under. An IPv4 client seen through a dual-stack socket
 * (`::ffff:a.b.c.d`, in either notation) is its IPv4 address, so it gets no second budget. An
 * IPv6 client is its /64: one end site is routinely given a whole /64, so counting single
 * addresses would give one attacker 2^64 budgets. Anything else is kept as given (trimmed, lower
 * case).
 */
export function normalizeAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const groups = ipv6Groups(lower);
  if (groups === undefined) return lower;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  return `${[g0, g1, g2, g3].map((group) => (group ?? 0).toString(16)).join(':')}::/64`;
}

/**
 * Login rate limits per username and per address, on any `KeyValueStore`. An attempt is checked
 * and counted in one compare-and-set before any password is hashed, so a locked account costs no
 * argon2 work and a burst of parallel guesses cannot slip past the lock. Unknown usernames are
 * counted exactly like known ones: the limiter never looks at the directory.
 */
export class LoginRateLimiter {
  readonly usernamePolicy: BackoffPolicy;
  readonly addressPolicy: BackoffPolicy;
  readonly #store: KeyValueStore;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(options: LoginRateLimiterOptions) {
    if (typeof options?.store?.compareAndSet !== 'function') {
      throw new TesseraTypeError('ERR_INVALID_RATE_LIMIT', 'store must be a KeyValueStore');
    }
    this.#store = options.store;
    this.#prefix = options.prefix ?? 'login:';
    this.#now = options.now ?? Date.now;
    this.usernamePolicy = resolvePolicy(options.username, defaultUsernamePolicy, 'username');
    this.addressPolicy = resolvePolicy(options.address, defaultAddressPolicy, 'address');
  }

  /**
   * Counts an attempt against the username and the address, or rejects with `ERR_LOGIN_RATE_LIMITED`
   * (and `retryAfterSeconds`) when either is locked. Call it before checking the password.
   */
  async begin(subject: LoginAttemptSubject): Promise<LoginAttempt> {
    const now = this.#now();
    const userKey = this.#usernameKey(subject.username);
    const addressKey = this.#addressKey(subject.address);
    // An attempt an existing lock refuses writes nothing: a locked address must not be able to
    // create a counter for every username it tries (each one a key in the store).
    const [userRaw, addressRaw] = await Promise.all([this.#store.get(userKey), this.#store.get(addressKey)]);
    const lockedUntil = Math.max(parseState(userRaw).until, parseState(addressRaw).until);
    if (lockedUntil > now) throw loginRateLimited(secondsUntil(lockedUntil, now));
    const user = await this.#reserve(userKey, this.usernamePolicy, now, userRaw);
    if (user.locked) throw loginRateLimited(secondsUntil(user.until, now));
    const address = await this.#reserve(addressKey, this.addressPolicy, now, addressRaw);
    if (address.locked) {
      await this.#refund(user);
      throw loginRateLimited(secondsUntil(address.until, now));
    }
    return {
      succeeded: async () => {
        await this.#store.delete(userKey);
        await this.#refund(address);
      },
    };
  }

  /** Seconds until `subject` may try again, or 0 when it may now. Counts nothing. */
  async retryAfter(subject: LoginAttemptSubject): Promise<number> {
    const now = this.#now();
    const [user, address] = await Promise.all([
      this.#store.get(this.#usernameKey(subject.username)),
      this.#store.get(this.#addressKey(subject.address)),
    ]);
    const until = Math.max(parseState(user).until, parseState(address).until);
    return until > now ? secondsUntil(until, now) : 0;
  }

  /** Forgets a username's failures and lock (an administrator unlocking an account). */
  async reset(username: string): Promise<void> {
    await this.#store.delete(this.#usernameKey(username));
  }

  #usernameKey(username: string): string {
    return `${this.#prefix}user:${digest(usernameKey(String(username)))}`;
  }

  #addressKey(address: string): string {
    return `${this.#prefix}addr:${digest(normalizeAddress(String(address)))}`;
  }

  /** `firstRaw`: the value just read, so the first compare-and-set needs no second read. */
  async #reserve(
    key: string,
    policy: BackoffPolicy,
    now: number,
    firstRaw: string | null,
  ): Promise<Reservation> {
    for (let tries = 0; tries < CAS_ATTEMPTS; tries += 1) {
      const raw = tries === 0 ? firstRaw : await this.#store.get(key);
      const state = parseState(raw);
      if (state.until > now) return { locked: true, until: state.until };
      const n = state.n + 1;
      const until = n >= policy.freeAttempts ? now + lockMs(policy, n) : 0;
      const next = JSON.stringify({ n, until });
      const ttlMs = policy.windowMs + policy.maxLockMs;
      if (await this.#store.compareAndSet(key, raw, next, { ttlMs })) {
        return { locked: false, key, until, previousUntil: state.until };
      }
    }
    // Heavy contention on one key is itself a burst: refuse rather than let it through unchecked.
    return { locked: true, until: now + policy.baseLockMs };
  }

  /** Takes back one counted attempt, and the lock it set, if nothing has moved the lock since. */
  async #refund(reservation: Reservation): Promise<void> {
    if (reservation.locked) return;
    const { key } = reservation;
    for (let tries = 0; tries < CAS_ATTEMPTS; tries += 1) {
      const raw = await this.#store.get(key);
      if (raw === null) return;
      const state = parseState(raw);
      const until = state.until === reservation.until ? reservation.previousUntil : state.until;
      const next = JSON.stringify({ n: Math.max(0, state.n - 1), until });
      const ttl = await this.#store.ttl(key);
      const ttlMs = ttl === null || !Number.isFinite(ttl) ? undefined : Math.max(1, Math.ceil(ttl));
      if (await this.#store.compareAndSet(key, raw, next, { ttlMs })) return;
    }
  }
}

function lockMs(policy: BackoffPolicy, attempts: number): number {
  const doublings = Math.min(attempts - policy.freeAttempts, 40);
  return Math.min(policy.baseLockMs * 2 ** doublings, policy.maxLockMs);
}

function secondsUntil(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}
