import type { SigningAlgorithm } from '../keys/algorithms.js';
import type { KeySet } from '../keys/key-set.js';
import type { SigningKey } from '../keys/signing-key.js';
import type { AccessTokenClaims } from './payload.js';
import { AccessTokenSigner } from './signer.js';

export interface SignAccessTokenOptions {
  readonly issuer: string;
  /** Seconds. Default 300: short-lived, so a leaked token is good for minutes. */
  readonly lifetime?: number;
  /** Which active key of a key set signs. Default EdDSA. */
  readonly alg?: SigningAlgorithm;
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

/**
 * Signs one RFC 9068 access token with the active key of a key set (or the key given). For many
 * tokens, keep an {@link AccessTokenSigner}: it validates its options and encodes the header once.
 */
export async function signAccessToken(
  keys: KeySet | SigningKey,
  claims: AccessTokenClaims,
  options: SignAccessTokenOptions,
): Promise<string> {
  return new AccessTokenSigner({ keys, ...options }).issue(claims).token;
}
