import { TesseraTypeError } from '../errors/base.js';
import { TokenError } from '../errors/token.js';
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
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
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
 * most once per cooldown, one fetch shared by all concurrent callers. A failed fetch keeps the
 * cached keys, so an outage of the issuer never breaks verification of keys already known.
 */
export class RemoteJwksKeySource implements KeySource {
  readonly #url: URL;
  readonly #timeout: number;
  readonly #maxBodyBytes: number;
  readonly #cooldown: number;
  readonly #now: () => number;
  #keys = new Map<string, VerificationKey>();
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;

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
    this.#url = url;
    this.#timeout = positive('timeout', options.timeout, 5_000);
    this.#maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, 64 * 1024);
    this.#cooldown = positive('cooldown', options.cooldown, 30_000);
    this.#now = options.now ?? Date.now;
  }

  get(kid: string): VerificationKey | undefined {
    return this.#keys.get(kid);
  }

  /** Fetches now (sharing any fetch in flight); rejects with ERR_JWKS_FETCH_FAILED on failure. */
  load(): Promise<void> {
    if (this.#inflight === undefined) {
      this.#lastAttempt = this.#now();
      this.#inflight = this.#fetch().finally(() => {
        this.#inflight = undefined;
      });
    }
    return this.#inflight;
  }

  /** Refetches for an unknown kid unless within the cooldown; never rejects (fails closed). */
  async refresh(kid: string): Promise<void> {
    if (this.#keys.has(kid)) return;
    if (this.#inflight === undefined && this.#now() - this.#lastAttempt < this.#cooldown) return;
    try {
      await this.load();
    } catch {
      // The cached keys stay; the unknown kid stays unknown and its token is refused.
    }
  }

  async #fetch(): Promise<void> {
    let body: unknown;
    try {
      const response = await fetch(this.#url, {
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeout),
        headers: { accept: 'application/json, application/jwk-set+json' },
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw fetchFailed(`the JWKS endpoint answered ${response.status}`);
      }
      body = JSON.parse(await readLimited(response, this.#maxBodyBytes));
    } catch (error) {
      if (error instanceof TokenError) throw error;
      throw fetchFailed('the JWKS could not be fetched or is not JSON', error);
    }
    this.#keys = parseJwks(body);
  }
}

async function readLimited(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > max) {
    await response.body?.cancel();
    throw fetchFailed('the JWKS is larger than allowed');
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw fetchFailed('the JWKS is larger than allowed');
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
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
