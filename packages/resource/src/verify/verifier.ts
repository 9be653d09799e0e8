import {
  type AccessTokenVerifier,
  BoundedCache,
  createAccessTokenVerifier,
  freezePrincipal,
  type KeySource,
  type Principal,
  RemoteJwksKeySource,
  sha256Base64url,
  TesseraTypeError,
  TokenError,
} from '@tessera/core';
import { ResourceError } from '../errors.js';
import { discoverJwksUri } from '../jwks/discovery.js';
import { DenyList } from '../revocation/deny-list.js';
import type { VerifierOptions } from './options.js';

/** Verifies access tokens for one service: signature, claims, deny-list, optional cache. */
export interface Verifier {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** The remote key source, when keys come from a JWKS. */
  readonly jwks: RemoteJwksKeySource | undefined;
  /** The Principal of a valid, unrevoked token; otherwise a TokenError or ResourceError. */
  verify(token: string): Promise<Principal>;
  /**
   * As verify when no key fetch is needed (the common case), without a promise; undefined when
   * the token names a kid not yet known, so the caller must await verify.
   */
  verifyNow(token: string): Principal | undefined;
  /**
   * The Principal of `token` when it is in the verified-token cache (still checked against the
   * deny-list: a revoked one is ERR_TOKEN_REVOKED); undefined on a miss or without a cache. A hit
   * means exactly this string was verified before, so the caller may skip its own syntax checks.
   */
  verifyCached(token: string): Principal | undefined;
}

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

function cacheSize(cache: VerifierOptions['cache']): number | undefined {
  if (cache === undefined || cache === false) return undefined;
  const max = cache === true ? 10_000 : (cache.max ?? 10_000);
  if (!Number.isSafeInteger(max) || max <= 0) throw misuse('cache.max must be a positive integer');
  return max;
}

/**
 * Builds a verifier. Without `jwksUri` or `keys`, the JWKS location comes from the issuer's
 * discovery document, which must name this exact issuer (else this rejects: refuse to start).
 * The first JWKS fetch is attempted here but its failure does not stop the start: tokens are then
 * answered 503 until the token service can be reached.
 */
export async function createVerifier(options: VerifierOptions): Promise<Verifier> {
  if (typeof options !== 'object' || options === null) throw misuse('options are required');
  const { issuer, jwksUri, revocations, now = Date.now } = options;
  if (typeof issuer !== 'string' || issuer.length === 0) throw misuse('issuer must be a non-empty string');
  if (jwksUri !== undefined && options.keys !== undefined) throw misuse('give jwksUri or keys, not both');
  const max = cacheSize(options.cache);
  const jwksOptions = options.jwks ?? {};
  const fetchLimits = {
    timeout: jwksOptions.timeout ?? 3_000,
    maxBodyBytes: jwksOptions.maxBodyBytes ?? 64 * 1024,
  };

  let jwks: RemoteJwksKeySource | undefined;
  let keys: KeySource;
  if (options.keys !== undefined) {
    keys = options.keys;
  } else {
    jwks = new RemoteJwksKeySource({
      ...jwksOptions,
      ...fetchLimits,
      // A verifier serves requests: refresh every 5 min, and fail closed after a day of outage.
      maxAge: jwksOptions.maxAge ?? 300_000,
      maxStale: jwksOptions.maxStale ?? 86_400_000,
      url: jwksUri ?? (await discoverJwksUri(issuer, fetchLimits)),
      now,
    });
    keys = jwks;
    await jwks.load().catch(() => {
      // Fail closed per request (503) rather than at start: the token service may come up later.
    });
  }

  const core: AccessTokenVerifier = createAccessTokenVerifier({
    issuer,
    audience: options.audience,
    keys,
    ...(options.algorithms === undefined ? {} : { algorithms: options.algorithms }),
    ...(options.clockTolerance === undefined ? {} : { clockTolerance: options.clockTolerance }),
    ...(options.maxTokenLength === undefined ? {} : { maxTokenLength: options.maxTokenLength }),
    now,
  });
  const maxTokenLength = options.maxTokenLength ?? 8192;
  const denyList = revocations instanceof DenyList ? revocations : revocations?.list;
  // Verified principals by token hash, never returned at or past the token's exp (seconds); a hit
  // is still checked against the deny-list.
  const cache = max === undefined ? undefined : new BoundedCache<Principal>({ max, now: () => now() / 1000 });
  const audience = Object.freeze(
    typeof options.audience === 'string' ? [options.audience] : [...options.audience],
  );

  function remember(hash: string, principal: Principal): void {
    // One object now serves every request with this token: none of them may change it for the rest.
    cache?.set(hash, freezePrincipal(principal), principal.expiresAt);
  }

  function allowed(principal: Principal): Principal {
    if (denyList !== undefined && denyList.match(principal) !== undefined) {
      throw new ResourceError('ERR_TOKEN_REVOKED', 'the token was revoked');
    }
    return principal;
  }

  async function slow(token: string): Promise<Principal> {
    try {
      return await core.verify(token);
    } catch (error) {
      // An unknown kid while the JWKS cannot be fetched may be a key we failed to learn: 503.
      if (
        jwks !== undefined &&
        error instanceof TokenError &&
        error.code === 'ERR_JWKS_NO_MATCHING_KEY' &&
        (jwks.failing || jwks.expired)
      ) {
        throw new TokenError('ERR_JWKS_FETCH_FAILED', 'the JWKS cannot be fetched');
      }
      throw error;
    }
  }

  function verifyCached(token: string): Principal | undefined {
    if (cache === undefined || typeof token !== 'string' || token.length > maxTokenLength) return undefined;
    const hit = cache.get(sha256Base64url(token));
    return hit === undefined ? undefined : allowed(hit);
  }

  function verifyNow(token: string): Principal | undefined {
    if (typeof token !== 'string') throw new TokenError('ERR_JWT_MALFORMED');
    // Hash only what could be a token: an oversized one is refused by core before any work.
    const hash = cache !== undefined && token.length <= maxTokenLength ? sha256Base64url(token) : undefined;
    if (hash !== undefined) {
      const hit = cache?.get(hash);
      if (hit !== undefined) return allowed(hit);
    }
    let principal: Principal;
    try {
      principal = core.verifySync(token);
    } catch (error) {
      if (error instanceof TokenError && error.code === 'ERR_JWKS_NO_MATCHING_KEY') return undefined;
      throw error;
    }
    allowed(principal);
    if (hash !== undefined) remember(hash, principal);
    return principal;
  }

  async function verify(token: string): Promise<Principal> {
    const now = verifyNow(token);
    if (now !== undefined) return now;
    const principal = allowed(await slow(token));
    if (cache !== undefined && token.length <= maxTokenLength) remember(sha256Base64url(token), principal);
    return principal;
  }

  return Object.freeze({ issuer, audience, jwks, verify, verifyNow, verifyCached });
}
