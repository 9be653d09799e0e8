import { freezePrincipal, type Principal } from '@tessera/core';

export interface TokenCacheOptions {
  /** Most tokens kept. Default 10000. */
  readonly max?: number;
}

/**
 * Verified principals by token hash, least recently used dropped first, and never returned at or
 * past the token's `exp`. The caller still checks the deny-list on every hit.
 */
export class VerifiedTokenCache {
  readonly #max: number;
  readonly #entries = new Map<string, Principal>();

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(hash: string, nowSeconds: number): Principal | undefined {
    const principal = this.#entries.get(hash);
    if (principal === undefined) return undefined;
    if (principal.expiresAt <= nowSeconds) {
      this.#entries.delete(hash);
      return undefined;
    }
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.#entries.delete(hash);
    this.#entries.set(hash, principal);
    return principal;
  }

  set(hash: string, principal: Principal): void {
    this.#entries.delete(hash);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    // One object now serves every request with this token: none of them may change it for the rest.
    this.#entries.set(hash, freezePrincipal(principal));
  }
}
