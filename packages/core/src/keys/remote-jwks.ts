import { TesseraTypeError } from '../errors/base.js';
import { OutboundError } from '../errors/outbound.js';
import { TokenError } from '../errors/token.js';
import { outboundRequest } from '../http/outbound.js';
import { hasPrivateMembers, publicKeyObjectOf } from './jwk.js';
import type { KeySource, VerificationKey } from './key-source.js';

export interface RemoteJwksOptions {
  /** The https (or http on localhost) URL of the JWKS document. */
  readonly url: string | URL;
  /** Abort a fetch after this many ms. Default 5000. */
  readonly timeout?: number;
  /** Refuse a body larger than this many bytes. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** After a fetch, wait this many ms before an unknown kid may trigger another. Default 30000. */
  readonly cooldown?: number;
  /** After this many ms since the last successful fetch, keys are refetched in the background. Default: never. */
  readonly maxAge?: number;
  /**
   * How long after the last successful fetch the cached keys may still be used while the JWKS
   * cannot be fetched (stale-if-error); past it every lookup fails closed. Default: no bound.
   */
  readonly maxStale?: number;
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  // A fallback of Infinity means "off": only a caller-given value has to be finite.
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', `${name} must be a positive number`);
  }
  return value;
}

function fetchFailed(message: string, cause?: unknown): TokenError {
  return new TokenError('ERR_JWKS_FETCH_FAILED', message, cause === undefined ? {} : { cause });
}

/**
 * Keys from a remote JWKS document (the token service's `jwks_uri`). Lookups are synchronous from
 * a cache; a token naming an unknown kid makes the async verifier call `refresh`, which fetches at
 * most once per cooldown, one fetch shared by all concurrent callers. Keys older than `maxAge` are
 * refetched in the background. A failed fetch keeps the cached keys, so an outage of the issuer
 * does not break verification of keys already known — until `maxStale` after the last success,
 * when every lookup fails closed.
 */
export class RemoteJwksKeySource implements KeySource {
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

  constructor(options: RemoteJwksOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'url must be an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'url must be http(s)');
    }
    this.url = url;
    this.#timeout = positive('timeout', options.timeout, 5_000);
    this.#maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, 64 * 1024);
    this.#cooldown = positive('cooldown', options.cooldown, 30_000);
    this.#maxAge = positive('maxAge', options.maxAge, Number.POSITIVE_INFINITY);
    this.#maxStale = positive('maxStale', options.maxStale, Number.POSITIVE_INFINITY);
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

  /** Fetches now (sharing any fetch in flight); rejects with ERR_JWKS_FETCH_FAILED on failure. */
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

  /**
   * Resolves when keys are cached and usable; otherwise fetches (at most once per cooldown, sharing
   * a fetch in flight) and rejects with ERR_JWKS_FETCH_FAILED if still none are. For readiness: a
   * verifier with cached keys can verify without the issuer, one without keys cannot.
   */
  async ensureKeys(): Promise<void> {
    const usable = () => this.#keys.size > 0 && !this.expired;
    if (usable()) return;
    if (this.#inflight !== undefined || this.#now() - this.#lastAttempt >= this.#cooldown) {
      await this.load().catch(() => {
        // Judged below: no usable keys is the failure, whatever the fetch's reason.
      });
    }
    if (!usable())
      throw new TokenError('ERR_JWKS_FETCH_FAILED', 'no usable keys: the JWKS cannot be fetched');
  }

  /** Refetches for an unknown kid unless within the cooldown; never rejects (fails closed). */
  async refresh(kid: string): Promise<void> {
    if (this.#keys.has(kid) && !this.expired) return;
    if (this.#inflight === undefined && this.#now() - this.#lastAttempt < this.#cooldown) return;
    try {
      await this.load();
    } catch {
      // The cached keys stay (until maxStale); the unknown kid stays unknown and its token is refused.
    }
  }

  #backgroundRefresh(): void {
    if (this.#inflight !== undefined || this.#now() - this.#lastAttempt < this.#cooldown) return;
    this.load().catch(() => {
      // Stale-if-error: the cached keys keep serving until maxStale.
    });
  }

  async #fetch(): Promise<void> {
    try {
      this.#keys = await this.#download();
    } catch (error) {
      this.#lastFailed = true;
      throw error;
    }
    this.#loadedAt = this.#now();
    this.#lastFailed = false;
  }

  async #download(): Promise<Map<string, VerificationKey>> {
    let body: unknown;
    try {
      const answer = await outboundRequest(this.url, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        timeout: this.#timeout,
        maxBodyBytes: this.#maxBodyBytes,
      });
      if (answer.status !== 200) throw fetchFailed(`the JWKS endpoint answered ${answer.status}`);
      body = answer.json();
    } catch (error) {
      if (error instanceof TokenError) throw error;
      // An OutboundError's message names the endpoint and what went wrong, nothing secret.
      const reason = error instanceof OutboundError ? `: ${error.message}` : '';
      throw fetchFailed(`the JWKS could not be fetched${reason}`, error);
    }
    return parseJwks(body);
  }
}

/** The usable keys of a JWKS document; symmetric keys and keys with private members are skipped. */
export function parseJwks(body: unknown): Map<string, VerificationKey> {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw fetchFailed('the document is not a JWKS (no keys array)');
  }
  const keys = new Map<string, VerificationKey>();
  for (const jwk of (body as { keys: unknown[] }).keys) {
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) continue;
    const record = jwk as Record<string, unknown>;
    const { kid, use } = record;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256 || keys.has(kid)) continue;
    if (use !== undefined && use !== 'sig') continue;
    if (hasPrivateMembers(record)) continue;
    const imported = publicKeyObjectOf(record);
    if (imported !== undefined) keys.set(kid, Object.freeze({ kid, alg: imported.alg, key: imported.key }));
  }
  return keys;
}
