import { createHmac } from 'node:crypto';
import { TesseraTypeError } from '../errors/base.js';
import { secretEquals } from '../secret-compare.js';

export interface DpopNoncesOptions {
  /** At least 32 bytes, the same on every instance: each one then hands out and accepts the same nonces. */
  readonly secret: Uint8Array;
  /** Seconds a nonce is handed out for; it is accepted for one more such period. Default 120. */
  readonly lifetime?: number;
  /** Clock in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Server nonces for DPoP proofs (RFC 9449 8), with no state: the nonce of a period is an HMAC of
 * the period's number under a shared secret, so instances agree without a store. The current
 * nonce and the one before it are accepted, so a nonce sent at the end of a period still works.
 */
export class DpopNonces {
  readonly #secret: Uint8Array;
  readonly #periodMs: number;
  readonly #now: () => number;
  #cached: { readonly period: number; readonly nonce: string } | undefined;

  constructor(options: DpopNoncesOptions) {
    if (!(options?.secret instanceof Uint8Array) || options.secret.byteLength < 32) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'secret must be at least 32 bytes');
    }
    const lifetime = options.lifetime ?? 120;
    if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > 86_400) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'lifetime must be 1 to 86400 seconds');
    }
    this.#secret = Uint8Array.from(options.secret);
    this.#periodMs = lifetime * 1000;
    this.#now = options.now ?? Date.now;
  }

  #nonceOf(period: number): string {
    if (this.#cached?.period === period) return this.#cached.nonce;
    const nonce = createHmac('sha256', this.#secret).update(`dpop-nonce ${period}`).digest('base64url');
    if (period >= (this.#cached?.period ?? 0)) this.#cached = { period, nonce };
    return nonce;
  }

  /** The nonce to send in `DPoP-Nonce` now. */
  current(): string {
    return this.#nonceOf(Math.floor(this.#now() / this.#periodMs));
  }

  /** Whether a proof's `nonce` is this period's or the last one's. */
  accepts(nonce: string): boolean {
    const period = Math.floor(this.#now() / this.#periodMs);
    return secretEquals(nonce, this.#nonceOf(period)) || secretEquals(nonce, this.#nonceOf(period - 1));
  }
}
