import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { RandomPool } from '@tessera/core';
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
 * into another user's session does not open. Opened values are kept in a bounded map, so a
 * request whose session has not changed pays a lookup, not a decryption.
 */
export class TokenVault {
  readonly #key: Buffer;
  readonly #ivs = new RandomPool();
  readonly #opened = new Map<string, HeldTokens>();

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, '', 'tessera gateway session tokens', 32));
  }

  seal(userId: string, tokens: HeldTokens): string {
    const iv = this.#ivs.bytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(userId, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The tokens, or `session_required` when the value does not open (another secret, another user, altered). */
  open(userId: string, sealed: string): HeldTokens {
    const cacheKey = `${userId}\n${sealed}`;
    const hit = this.#opened.get(cacheKey);
    if (hit !== undefined) return hit;
    let tokens: HeldTokens;
    try {
      const raw = Buffer.from(sealed, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(userId, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      tokens = JSON.parse(text.toString('utf8')) as HeldTokens;
    } catch {
      throw new SessionError('session_required');
    }
    if (this.#opened.size >= openedCacheSize) this.#opened.clear();
    this.#opened.set(cacheKey, tokens);
    return tokens;
  }
}
