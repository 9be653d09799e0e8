import { freezePrincipal, type Principal } from '@tessera/core';

export interface TokenCacheOptions {
  /** Most tokens kept. Default 10000. */
  readonly max?: number;
}

interface Entry {
  readonly principal: Principal;
  /** When it was last put at the young end, counted in insertions. */
  touched: number;
}

/**
 * Verified principals by token hash, least recently used dropped first, and never returned at or
 * past the token's `exp`. The caller still checks the deny-list on every hit. A Map iterates in
 * insertion order, so its first key is the one to drop; a hit moves its entry to the young end
 * only once `max / 2` insertions have come after it, which spares the move (a delete and a set)
 * on most hits of a busy token while no entry used in the last `max / 2` insertions is the next
 * one dropped.
 */
export class VerifiedTokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();
  #insertions = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(hash: string, nowSeconds: number): Principal | undefined {
    const entry = this.#entries.get(hash);
    if (entry === undefined) return undefined;
    if (entry.principal.expiresAt <= nowSeconds) {
      this.#entries.delete(hash);
      return undefined;
    }
    if (this.#insertions - entry.touched >= this.#max / 2) {
      this.#entries.delete(hash);
      entry.touched = ++this.#insertions;
      this.#entries.set(hash, entry);
    }
    return entry.principal;
  }

  set(hash: string, principal: Principal): void {
    this.#entries.delete(hash);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    // One object now serves every request with this token: none of them may change it for the rest.
    this.#entries.set(hash, { principal: freezePrincipal(principal), touched: ++this.#insertions });
  }
}
