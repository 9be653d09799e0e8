import { TesseraTypeError } from '../errors/base.js';
import { isSigningAlgorithm, type SigningAlgorithm } from '../keys/algorithms.js';
import type { KeySource } from '../keys/key-source.js';

export interface VerifyAccessTokenOptions {
  /** The exact `iss` expected. */
  readonly issuer: string;
  /** This service's audience; a token must name (one of) it in `aud`. */
  readonly audience: string | readonly string[];
  /** A KeySet, a RemoteJwksKeySource, or any KeySource. */
  readonly keys: KeySource;
  /** Allowed algorithms. Default ['EdDSA', 'ES256']. */
  readonly algorithms?: readonly SigningAlgorithm[];
  /** Seconds of clock skew tolerated for exp, nbf and iat. Default 30, at most 60. */
  readonly clockTolerance?: number;
  /** Longest token accepted, in characters. Default 8192. */
  readonly maxTokenLength?: number;
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

export interface ResolvedVerifyOptions {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly keys: KeySource;
  readonly algorithms: ReadonlySet<string>;
  readonly clockTolerance: number;
  readonly maxTokenLength: number;
  readonly now: () => number;
}

export const defaultAlgorithms: readonly SigningAlgorithm[] = Object.freeze(['EdDSA', 'ES256']);
export const defaultClockTolerance = 30;
export const maxClockTolerance = 60;
export const defaultMaxTokenLength = 8192;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

/** Validates verifier options once; a wrong option is the programmer's error, thrown here. */
export function resolveVerifyOptions(options: VerifyAccessTokenOptions): ResolvedVerifyOptions {
  if (typeof options !== 'object' || options === null) throw misuse('options are required');
  const { issuer, audience, keys, algorithms = defaultAlgorithms, now = Date.now } = options;
  if (typeof issuer !== 'string' || issuer.length === 0) throw misuse('issuer must be a non-empty string');
  const audiences = typeof audience === 'string' ? [audience] : audience;
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((aud) => typeof aud !== 'string' || aud.length === 0)
  ) {
    throw misuse('audience must be a non-empty string or array of non-empty strings');
  }
  if (typeof keys !== 'object' || keys === null || typeof keys.get !== 'function') {
    throw misuse('keys must be a KeySource (an object with get(kid))');
  }
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every(isSigningAlgorithm)) {
    throw misuse('algorithms must be a non-empty list of EdDSA, ES256, RS256');
  }
  const clockTolerance = options.clockTolerance ?? defaultClockTolerance;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0 || clockTolerance > maxClockTolerance) {
    throw misuse(`clockTolerance must be between 0 and ${maxClockTolerance} seconds`);
  }
  const maxTokenLength = options.maxTokenLength ?? defaultMaxTokenLength;
  if (!Number.isSafeInteger(maxTokenLength) || maxTokenLength <= 0) {
    throw misuse('maxTokenLength must be a positive integer');
  }
  if (typeof now !== 'function') throw misuse('now must be a function returning epoch ms');
  return Object.freeze({
    issuer,
    audience: Object.freeze([...audiences]),
    keys,
    algorithms: new Set<string>(algorithms),
    clockTolerance,
    maxTokenLength,
    now,
  });
}
