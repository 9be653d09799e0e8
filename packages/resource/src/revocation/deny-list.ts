import type { Principal, RevocationEvent, RevocationKind } from '@tessera/core';
import { isClientPrincipal } from '../principal.js';

export interface DenyListOptions {
  /**
   * The issuer whose events these are. A `jti` entry then denies only tokens of this issuer
   * (the list keys on `iss` + `jti`). Without it, a `jti` entry denies that jti from any issuer.
   */
  readonly issuer?: string;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

/**
 * Revoked jtis, users, sessions and clients, each until its event's `until` (epoch s). Keys are
 * claims, never token bytes, so a revoked token re-encoded (an ECDSA (r, n-s) twin, another
 * base64url of the same JSON) is still denied (docs/security.md C70).
 */
export class DenyList {
  readonly #issuer: string | undefined;
  readonly #now: () => number;
  readonly #entries: Record<RevocationKind, Map<string, number>> = {
    jti: new Map(),
    sub: new Map(),
    sid: new Map(),
    client: new Map(),
  };
  #size = 0;

  constructor(options: DenyListOptions = {}) {
    this.#issuer = options.issuer;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#size;
  }

  #key(kind: RevocationKind, value: string): string {
    return kind === 'jti' && this.#issuer !== undefined ? `${this.#issuer} ${value}` : value;
  }

  add(event: RevocationEvent): void {
    if (event.until * 1000 <= this.#now()) return;
    const map = this.#entries[event.kind];
    const key = this.#key(event.kind, event.value);
    const previous = map.get(key);
    if (previous === undefined) this.#size++;
    map.set(key, Math.max(previous ?? 0, event.until));
  }

  /** Which kind of entry denies this principal, or undefined when none does. */
  match(principal: Principal): RevocationKind | undefined {
    if (this.#size === 0) return undefined;
    const now = this.#now() / 1000;
    const jtiKey =
      this.#issuer === undefined ? principal.tokenId : `${principal.issuer} ${principal.tokenId}`;
    if (live(this.#entries.jti.get(jtiKey), now)) return 'jti';
    // A client_credentials token has sub = client_id: a user revocation must not hit the client
    // that happens to share the name (docs/security.md C71), nor the reverse.
    if (!isClientPrincipal(principal) && live(this.#entries.sub.get(principal.subject), now)) return 'sub';
    if (principal.sessionId !== undefined && live(this.#entries.sid.get(principal.sessionId), now)) {
      return 'sid';
    }
    if (live(this.#entries.client.get(principal.clientId), now)) return 'client';
    return undefined;
  }

  /** Drops entries past their `until`; returns how many. */
  prune(): number {
    const now = this.#now() / 1000;
    let removed = 0;
    for (const map of Object.values(this.#entries)) {
      for (const [key, until] of map) {
        if (until <= now) {
          map.delete(key);
          removed++;
        }
      }
    }
    this.#size -= removed;
    return removed;
  }
}

function live(until: number | undefined, now: number): boolean {
  return until !== undefined && until > now;
}
