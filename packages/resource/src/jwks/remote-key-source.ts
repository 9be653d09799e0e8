import { type KeySource, parseJwks, TesseraTypeError, TokenError, type VerificationKey } from '@tessera/core';
import { fetchJsonObject } from '../lib/http.js';

export interface JwksClientOptions {
  /** The token service's `jwks_uri`. */
  readonly url: string | URL;
  /** Abort a fetch after this many ms. Default 3000. */
  readonly timeout?: number;
  /** Refuse a JWKS larger than this. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** At most one fetch for unknown kids per this many ms. Default 30000. */
  readonly cooldown?: number;
  /** After this many ms the keys are refetched in the background. Default 300000 (5 min). */
  readonly maxAge?: number;
  /**
   * How long after the last successful fetch the cached keys may still be used while the token
   * service cannot be reached (stale-if-error). Past it verification fails closed. Default 86400000 (24 h).
   */
  readonly maxStale?: number;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', `${name} must be a positive number`);
  }
  return value;
}

/**
 * The token service's keys, fetched on undici. Lookups are synchronous from the cache; an unknown
 * kid triggers at most one fetch per cooldown, shared by every concurrent caller; keys older than
 * `maxAge` are refreshed in the background; a failed fetch keeps the cached keys until `maxStale`
 * after the last success, then every lookup fails closed with a 503.
 */
export class JwksClient implements KeySource {
  readonly url: URL;
  readonly #timeout: number;
  readonly #maxBodyBytes: number;
  readonly #cooldown: number;
  readonly #maxAge: number;
  readonly #maxStale: number;
  readonly #now: () => number;
  #keys = new Map<string, VerificationKey>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #lastFailed = false;
  #inflight: Promise<void> | undefined;
  #fetches = 0;

  constructor(options: JwksClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'jwksUri must be an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'jwksUri must be http(s)');
    }
    this.url = url;
    this.#timeout = positive('timeout', options.timeout, 3_000);
    this.#maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, 64 * 1024);
    this.#cooldown = positive('cooldown', options.cooldown, 30_000);
    this.#maxAge = positive('maxAge', options.maxAge, 300_000);
    this.#maxStale = positive('maxStale', options.maxStale, 86_400_000);
    this.#now = options.now ?? Date.now;
  }

  /** How many fetches were started (for tests and metrics). */
  get fetches(): number {
    return this.#fetches;
  }

  /** True when the last fetch failed: an unknown kid may then be a key we could not learn. */
  get failing(): boolean {
    return this.#lastFailed;
  }

  /** True when the cached keys are past maxStale: nothing may be verified with them. */
  get expired(): boolean {
    return this.#now() - this.#loadedAt > this.#maxStale;
  }

  get(kid: string): VerificationKey | undefined {
    const age = this.#now() - this.#loadedAt;
    if (age > this.#maxAge) {
      if (age > this.#maxStale) return undefined;
      this.#backgroundRefresh();
    }
    return this.#keys.get(kid);
  }

  /** Fetches now, sharing a fetch in flight; rejects with ERR_JWKS_FETCH_FAILED. */
  load(): Promise<void> {
    if (this.#inflight === undefined) {
      this.#lastAttempt = this.#now();
      this.#fetches++;
      this.#inflight = this.#fetch().finally(() => {
        this.#inflight = undefined;
      });
    }
    return this.#inflight;
  }

  /** For an unknown kid: refetch unless within the cooldown. Never rejects (fails closed). */
  async refresh(kid: string): Promise<void> {
    if (this.#keys.has(kid) && !this.expired) return;
    if (this.#inflight === undefined && this.#now() - this.#lastAttempt < this.#cooldown) return;
    try {
      await this.load();
    } catch {
      // The cached keys stay until maxStale; the unknown kid stays unknown.
    }
  }

  #backgroundRefresh(): void {
    if (this.#inflight !== undefined || this.#now() - this.#lastAttempt < this.#cooldown) return;
    this.load().catch(() => {
      // Stale-if-error: the cached keys keep serving until maxStale.
    });
  }

  async #fetch(): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = await fetchJsonObject(this.url, {
        timeout: this.#timeout,
        maxBodyBytes: this.#maxBodyBytes,
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
    } catch (error) {
      this.#lastFailed = true;
      throw new TokenError('ERR_JWKS_FETCH_FAILED', 'the JWKS could not be fetched', { cause: error });
    }
    let keys: Map<string, VerificationKey>;
    try {
      keys = parseJwks(body);
    } catch (error) {
      this.#lastFailed = true;
      throw error;
    }
    this.#keys = keys;
    this.#loadedAt = this.#now();
    this.#lastFailed = false;
  }
}
