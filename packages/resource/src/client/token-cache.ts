import { BoundedCache, type IssuedToken } from '@tessera/core';

/**
 * Tokens for outgoing calls, reused until `skew` ms before they expire, one request in flight per
 * key (concurrent callers share it), at most `max` entries (the least recently used dropped first).
 */
export class OutgoingTokenCache {
  readonly #tokens: BoundedCache<string>;
  readonly #inflight = new Map<string, Promise<IssuedToken>>();
  readonly #skew: number;

  constructor(max: number, skew: number, now: () => number) {
    this.#tokens = new BoundedCache({ max, now });
    this.#skew = skew;
  }

  async get(key: string, issue: () => Promise<IssuedToken>): Promise<string> {
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return cached;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = issue().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const issued = await pending;
    this.#tokens.set(key, issued.token, issued.expiresAt - this.#skew);
    return issued.token;
  }
}
