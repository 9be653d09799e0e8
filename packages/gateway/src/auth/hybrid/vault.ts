import { BoundedCache, SealedBox } from '@tessera/core';
import { SessionError } from '@tessera/session';

/** The credentials a hybrid session holds, in the clear only inside the gateway's memory. */
export interface HeldTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
}

const openedCacheSize = 10_000;

/**
 * Seals a session's tokens before they go into the session store, with AES-256-GCM under a key
 * derived from the gateway's client secret and the session's user as additional data: someone who
 * can read the store (a Redis dump, a replica, a backup) gets no token, and a sealed value copied
 * into another user's session does not open. Opened values are kept in a bounded cache, so a
 * request whose session has not changed pays a lookup, not a decryption.
 */
export class TokenVault {
  readonly #box: SealedBox;
  readonly #opened = new BoundedCache<HeldTokens>({ max: openedCacheSize });

  constructor(secret: string) {
    this.#box = SealedBox.fromSecret(secret, 'tessera gateway session tokens');
  }

  seal(userId: string, tokens: HeldTokens): string {
    return this.#box.seal(JSON.stringify(tokens), userId);
  }

  /** The tokens, or `session_required` when the value does not open (another secret, another user, altered). */
  open(userId: string, sealed: string): HeldTokens {
    const cacheKey = `${userId}\n${sealed}`;
    const hit = this.#opened.get(cacheKey);
    if (hit !== undefined) return hit;
    const opened = this.#box.open(sealed, userId);
    if (opened === undefined) throw new SessionError('session_required');
    const tokens = JSON.parse(opened.toString('utf8')) as HeldTokens;
    this.#opened.set(cacheKey, tokens);
    return tokens;
  }
}
