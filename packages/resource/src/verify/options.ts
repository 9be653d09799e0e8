import type { KeySource, SigningAlgorithm } from '@tessera/core';
import type { DenyList } from '../revocation/deny-list.js';
import type { Revocations } from '../revocation/subscribe.js';

export interface JwksOptions {
  /** Abort a JWKS or discovery fetch after this many ms. Default 3000. */
  readonly timeout?: number;
  /** Largest JWKS or discovery document accepted. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** At most one refetch for unknown kids per this many ms. Default 30000. */
  readonly cooldown?: number;
  /** Refetch in the background after this many ms. Default 300000. */
  readonly maxAge?: number;
  /** Keep using cached keys this long after the last successful fetch when fetching fails. Default 24 h. */
  readonly maxStale?: number;
}

export interface VerifierOptions {
  /** The exact `iss` of the token service. */
  readonly issuer: string;
  /** This service's audience (or several): a token must name one of them in `aud`. */
  readonly audience: string | readonly string[];
  /** The JWKS URL; found by discovery at `${issuer}/.well-known/openid-configuration` when absent. */
  readonly jwksUri?: string;
  /** Keys held in-process instead of a remote JWKS (a KeySet; tests, a co-located issuer). */
  readonly keys?: KeySource;
  /** Allowed algorithms. Default ['EdDSA', 'ES256']. */
  readonly algorithms?: readonly SigningAlgorithm[];
  /** Seconds of clock skew tolerated. Default 30, at most 60. */
  readonly clockTolerance?: number;
  /** Longest token accepted. Default 8192. */
  readonly maxTokenLength?: number;
  /** The verified-token cache: true for the defaults, or its size. Default off. */
  readonly cache?: boolean | { readonly max?: number };
  /** The deny-list every verify consults (from subscribeRevocations). */
  readonly revocations?: Revocations | DenyList;
  readonly jwks?: JwksOptions;
  /** Clock in epoch ms. */
  readonly now?: () => number;
}
