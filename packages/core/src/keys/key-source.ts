import type { KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from './algorithms.js';

/** A public key a verifier may use, bound to the one algorithm it verifies. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: KeyObject;
}

/**
 * Where a verifier finds keys. `get` is synchronous and must be cheap: it runs on every request.
 * A remote source implements `refresh`, which the async verifier awaits only when a token names a
 * kid `get` does not know (a key rotated in elsewhere); it must never reject.
 */
export interface KeySource {
  get(kid: string): VerificationKey | undefined;
  refresh?(kid: string): Promise<void>;
}
