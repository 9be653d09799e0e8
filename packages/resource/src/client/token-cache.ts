import type { IssuedToken } from './token-endpoint.js';

/**
 * Tokens for outgoing calls, reused until `skew` ms before they expire, one request in flight per
 * key (concurrent callers share it), at most `max` entries (the oldest dropped first).
 */
export class OutgoingTokenCache {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #inflight = new Map<string, Promise<IssuedToken>>();
  readonly #max: number;
  readonly #skew: number;
  readonly #now: () => number;

  constructor(max: number, skew: number, now: () => number) {
    this.#max = max;
    this.#skew = skew;
    this.#now = now;
  }

  async get(key: string, issue: () => Promise<IssuedToken>): Promise<string> {
    const cached = this.#tokens.get(key);
    if (cached !== undefined && this.#now() < cached.expiresAt - this.#skew) return cached.token;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = issue().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const issued = await pending;
    this.#tokens.delete(key);
    if (this.#tokens.size >= this.#max) {
      const oldest = this.#tokens.keys().next();
      if (oldest.done !== true) this.#tokens.delete(oldest.value);
    }
    this.#tokens.set(key, issued);
    return issued.token;
  }
}
