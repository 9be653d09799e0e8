import { generateSigningKey, KeySet, type KeyState, type SigningAlgorithm } from '@tessera/core';
import type { Kysely } from 'kysely';
import { TokenServiceError } from '../errors.js';
import type { TokenServiceDatabase } from '../store/schema.js';
import { SigningKeyRepository } from '../store/signing-keys.js';

export interface KeyManagerOptions {
  readonly db: Kysely<TokenServiceDatabase>;
  /** AES-256-GCM key for the private JWKs (derived from the service secret). */
  readonly encryptionKey: Buffer;
  /**
   * How long a retired key stays published, in ms: at least the longest lifetime of a token it
   * signed, plus the time other instances take to notice the rotation.
   */
  readonly retireAfterMs: number;
  /**
   * How long a `next` key must have been published before `rotate` lets it sign, in ms: every
   * instance reloads it (`keyReloadIntervalMs`) and serves it in its JWKS, so a verifier that
   * meets its kid finds it. Default 60 000 (the default 30 s reload, twice).
   */
  readonly publishAheadMs?: number;
  /** One active key each is created at first start. Default EdDSA (access tokens), RS256 and ES256 (ID tokens). */
  readonly algorithms?: readonly SigningAlgorithm[];
  readonly now?: () => number;
}

/** A key as `tessera keys list` shows it. */
export interface KeyInfo {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly retireUntil: number | undefined;
}

export const defaultPublishAheadMs = 60_000;

export const defaultKeyAlgorithms: readonly SigningAlgorithm[] = Object.freeze(['EdDSA', 'RS256', 'ES256']);

/**
 * The issuer's signing keys: persisted (encrypted) in SQL, held in memory as a core KeySet for
 * signing and for the JWKS. Rotation is two steps so verifiers fetch a key before it signs:
 * `rotate(alg)` promotes the waiting `next` key (if any) and publishes a new `next` one.
 * The CLI (`tessera keys rotate`) calls the same methods; running instances see the change at
 * their next `reload()`.
 */
export class KeyManager {
  readonly #repository: SigningKeyRepository;
  readonly #now: () => number;
  readonly #retireAfterMs: number;
  readonly #publishAheadMs: number;
  readonly #algorithms: readonly SigningAlgorithm[];
  #keySet: KeySet;
  #infos: KeyInfo[] = [];

  private constructor(options: KeyManagerOptions) {
    this.#repository = new SigningKeyRepository(options.db, options.encryptionKey);
    this.#now = options.now ?? Date.now;
    this.#retireAfterMs = options.retireAfterMs;
    this.#publishAheadMs = options.publishAheadMs ?? defaultPublishAheadMs;
    this.#algorithms = options.algorithms ?? defaultKeyAlgorithms;
    this.#keySet = new KeySet({ now: this.#now });
  }

  /**
   * Loads the stored keys and creates an active key for every algorithm that has none (first
   * start). A stored key that does not decrypt fails with ERR_SIGNING_KEY_UNREADABLE.
   */
  static async open(options: KeyManagerOptions): Promise<KeyManager> {
    const manager = new KeyManager(options);
    await manager.reload();
    let created = false;
    for (const alg of manager.#algorithms) {
      if (manager.#infos.some((info) => info.alg === alg && info.state === 'active')) continue;
      // Another instance may win the race; the database keeps exactly one active key either way.
      await manager.#repository.insert(await generateSigningKey(alg), 'active', manager.#now());
      created = true;
    }
    if (created) await manager.reload();
    return manager;
  }

  /** The keys in memory: sign with `keySet.activeKey(alg)`, publish `keySet.jwks()`. Re-read after reload. */
  get keySet(): KeySet {
    return this.#keySet;
  }

  /** Every published key, as last loaded. */
  list(): readonly KeyInfo[] {
    return this.#infos;
  }

  /** Re-reads the keys from the database (another process may have rotated them). */
  async reload(): Promise<void> {
    const stored = await this.#repository.load(this.#now());
    const set = new KeySet({ now: this.#now });
    for (const entry of stored) {
      set.add(entry.key, entry.state, entry.retireUntil);
    }
    this.#keySet = set;
    this.#infos = stored.map((entry) => ({
      kid: entry.key.kid,
      alg: entry.key.alg,
      state: entry.state,
      createdAt: entry.createdAt,
      retireUntil: entry.retireUntil,
    }));
  }

  /**
   * Milliseconds until the waiting `next` key of `alg` may sign (0: now, or there is none). Read
   * from the database, so a key another process published counts.
   */
  async msUntilRotation(alg: SigningAlgorithm): Promise<number> {
    await this.reload();
    const next = this.#infos.find((info) => info.alg === alg && info.state === 'next');
    return next === undefined ? 0 : Math.max(0, next.createdAt + this.#publishAheadMs - this.#now());
  }

  /**
   * One rotation step for `alg`: the `next` key, if there is one, becomes active (the active key
   * is retired and stays published for `retireAfterMs`), and a new `next` key is published.
   * A `next` key published less than `publishAheadMs` ago is not promoted
   * (ERR_KEY_ROTATION_TOO_SOON): run twice in a row, the second run would otherwise make a key
   * sign that no instance serves yet, and its tokens would fail to verify.
   */
  async rotate(
    alg: SigningAlgorithm,
  ): Promise<{ readonly promoted: string | undefined; readonly next: string }> {
    const waitMs = await this.msUntilRotation(alg);
    if (waitMs > 0) {
      throw new TokenServiceError(
        'ERR_KEY_ROTATION_TOO_SOON',
        `the next ${alg} key was published less than ${Math.ceil(this.#publishAheadMs / 1000)} s ago and may sign in ${Math.ceil(waitMs / 1000)} s, once every instance serves it`,
      );
    }
    const promoted = await this.#repository.promote(alg, this.#now() + this.#retireAfterMs);
    const key = await generateSigningKey(alg);
    await this.#repository.insert(key, 'next', this.#now());
    await this.reload();
    return { promoted, next: key.kid };
  }

  /** Makes the waiting `next` key of `alg` active now; ERR_KEY_ROTATION_INVALID when there is none. */
  async promote(alg: SigningAlgorithm): Promise<string> {
    const promoted = await this.#repository.promote(alg, this.#now() + this.#retireAfterMs);
    if (promoted === undefined) {
      throw new TokenServiceError(
        'ERR_KEY_ROTATION_INVALID',
        `there is no next ${alg} key to promote; rotate first`,
      );
    }
    await this.reload();
    return promoted;
  }
}
