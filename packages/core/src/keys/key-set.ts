import { TesseraTypeError } from '../errors/base.js';
import type { SigningAlgorithm } from './algorithms.js';
import type { JwksDocument, PublicJwk } from './jwk.js';
import type { KeySource, VerificationKey } from './key-source.js';
import { generateSigningKey, type SigningKey } from './signing-key.js';

/**
 * `next`: published, not yet signing (so verifiers fetch it before the first token it signs).
 * `active`: signs; one per algorithm. `retired`: no longer signs, published until `retireUntil`,
 * when every token it signed has expired; then dropped.
 */
export type KeyState = 'next' | 'active' | 'retired';

export interface KeySetEntry {
  readonly key: SigningKey;
  readonly state: KeyState;
  /** Epoch milliseconds after which a retired key is dropped. */
  readonly retireUntil?: number;
}

export interface KeySetOptions {
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

interface Slot {
  readonly key: SigningKey;
  readonly verification: VerificationKey;
  state: KeyState;
  retireUntil: number;
}

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_KEY_SET_OPERATION', message);
}

/** The signing keys of an issuer, with their rotation states; also a local {@link KeySource}. */
export class KeySet implements KeySource {
  readonly #slots = new Map<string, Slot>();
  readonly #now: () => number;

  constructor(options: KeySetOptions = {}) {
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'now must be a function returning epoch ms');
    }
    this.#now = options.now ?? Date.now;
  }

  /** A key set with one freshly generated active key per algorithm (EdDSA by default). */
  static async generate(
    algorithms: readonly SigningAlgorithm[] = ['EdDSA'],
    options: KeySetOptions = {},
  ): Promise<KeySet> {
    const set = new KeySet(options);
    for (const alg of algorithms) set.add(await generateSigningKey(alg), 'active');
    return set;
  }

  /** Adds a key; `retired` needs `retireUntil` (epoch ms), `active` must be the only one of its alg. */
  add(key: SigningKey, state: KeyState = 'next', retireUntil?: number): this {
    if (this.#slots.has(key.kid)) throw invalid(`a key with kid ${key.kid} is already in the set`);
    if (state === 'active' && this.#activeSlot(key.alg) !== undefined) {
      throw invalid(`there is already an active ${key.alg} key; promote instead`);
    }
    if (state === 'retired' && !Number.isFinite(retireUntil)) {
      throw invalid('a retired key needs retireUntil (epoch ms)');
    }
    this.#slots.set(key.kid, {
      key,
      verification: Object.freeze({ kid: key.kid, alg: key.alg, key: key.publicKey }),
      state,
      retireUntil: state === 'retired' ? (retireUntil as number) : Number.POSITIVE_INFINITY,
    });
    return this;
  }

  /**
   * Makes a `next` key active. The key that was active for its algorithm becomes `retired` until
   * `retireUntil` (epoch ms): choose it past the expiry of the last token that key can have signed.
   */
  promote(kid: string, options: { readonly retireUntil: number }): this {
    const slot = this.#slots.get(kid);
    if (slot === undefined || slot.state !== 'next') throw invalid(`no next key with kid ${kid}`);
    const previous = this.#activeSlot(slot.key.alg);
    if (previous !== undefined) this.retire(previous.key.kid, options.retireUntil);
    slot.state = 'active';
    return this;
  }

  /** Stops a key from signing; it stays published until `retireUntil` (epoch ms). */
  retire(kid: string, retireUntil: number): this {
    const slot = this.#slots.get(kid);
    if (slot === undefined) throw invalid(`no key with kid ${kid}`);
    if (!Number.isFinite(retireUntil)) throw invalid('retireUntil must be epoch ms');
    slot.state = 'retired';
    slot.retireUntil = retireUntil;
    return this;
  }

  /** Removes a key at once (compromise): tokens it signed stop verifying. */
  remove(kid: string): boolean {
    return this.#slots.delete(kid);
  }

  /** The active key of an algorithm; throws when there is none. */
  activeKey(alg: SigningAlgorithm = 'EdDSA'): SigningKey {
    const slot = this.#activeSlot(alg);
    if (slot === undefined) throw invalid(`the key set has no active ${alg} key`);
    return slot.key;
  }

  /** Every live key with its state, e.g. to persist the set. */
  entries(): KeySetEntry[] {
    this.#prune();
    return [...this.#slots.values()].map((slot) =>
      slot.state === 'retired'
        ? { key: slot.key, state: slot.state, retireUntil: slot.retireUntil }
        : { key: slot.key, state: slot.state },
    );
  }

  /** The public JWKS document: public members only, with kid, alg and use. */
  jwks(): JwksDocument {
    this.#prune();
    const keys: PublicJwk[] = [];
    for (const slot of this.#slots.values()) keys.push(slot.key.publicJwk);
    return { keys };
  }

  /** KeySource: the public key for a kid, if it is published (next, active or unexpired retired). */
  get(kid: string): VerificationKey | undefined {
    const slot = this.#slots.get(kid);
    if (slot === undefined) return undefined;
    if (slot.state === 'retired' && slot.retireUntil <= this.#now()) {
      this.#slots.delete(kid);
      return undefined;
    }
    return slot.verification;
  }

  #activeSlot(alg: SigningAlgorithm): Slot | undefined {
    for (const slot of this.#slots.values()) {
      if (slot.state === 'active' && slot.key.alg === alg) return slot;
    }
    return undefined;
  }

  #prune(): void {
    const now = this.#now();
    for (const [kid, slot] of this.#slots) {
      if (slot.state === 'retired' && slot.retireUntil <= now) this.#slots.delete(kid);
    }
  }
}
