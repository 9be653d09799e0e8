import { BoundedCache } from '../bounded-cache.js';
import { TokenError } from '../errors/token.js';
import type { Principal } from '../principal.js';
import { principalOf } from './claims.js';
import { decodeBase64url, decodeHeader, malformed, parseJsonObject, splitCompact } from './compact.js';
import { type CheckedHeader, checkHeader } from './header.js';
import { resolveVerifyOptions, type VerifyAccessTokenOptions } from './options.js';
import { verifySignature } from './signature.js';

export interface AccessTokenVerifier {
  /** The hot path: no await, no allocation beyond the token's own parts. Unknown kid is refused. */
  verifySync(token: string): Principal;
  /** As verifySync, but an unknown kid first makes the key source refresh (remote JWKS). */
  verify(token: string): Promise<Principal>;
}

// Headers repeat: one per key, for every token a key signs. A checked header is cached by its
// encoded form, so the common case skips base64, JSON and the header rules. Bounded, so a flood of
// distinct headers costs memory no more than this.
const headerCacheSize = 256;

/** Returned instead of thrown when the kid is unknown, so the async path can refresh and retry. */
class UnknownKid {
  readonly kid: string;
  constructor(kid: string) {
    this.kid = kid;
  }
}

/** Validates the options once and returns the verify functions that use them. */
export function createAccessTokenVerifier(options: VerifyAccessTokenOptions): AccessTokenVerifier {
  const resolved = resolveVerifyOptions(options);
  const { keys, algorithms, maxTokenLength, now } = resolved;
  const headers = new BoundedCache<CheckedHeader>({ max: headerCacheSize });
  // Scratch for the token's bytes, the decoded signature and the decoded payload: everything
  // below is synchronous, so one buffer per verifier is never shared by two calls, and the hot
  // path allocates no backing store. The token's part holds three bytes a character, the most
  // UTF-8 takes for one, so writing it never truncates.
  const scratch = Buffer.allocUnsafe(maxTokenLength * 5);
  const input = scratch.subarray(0, maxTokenLength * 3);
  const signatureScratch = scratch.subarray(maxTokenLength * 3, maxTokenLength * 4);
  const payloadScratch = scratch.subarray(maxTokenLength * 4);

  // Most services see one key's tokens: the last header is compared first, which is cheaper than
  // hashing a freshly sliced string for the map.
  let lastHeader = '';
  let lastChecked: CheckedHeader | undefined;

  function headerOf(encoded: string): CheckedHeader {
    if (encoded === lastHeader && lastChecked !== undefined) return lastChecked;
    let checked = headers.get(encoded);
    if (checked === undefined) {
      checked = checkHeader(decodeHeader(encoded), algorithms);
      headers.set(encoded, checked);
    }
    lastHeader = encoded;
    lastChecked = checked;
    return checked;
  }

  function attempt(token: string): Principal | UnknownKid {
    const parts = splitCompact(token, maxTokenLength);
    const { alg, kid } = headerOf(parts.header);
    const found = keys.get(kid);
    if (found === undefined) return new UnknownKid(kid);
    if (found.alg !== alg) throw new TokenError('ERR_JWS_ALG_NOT_ALLOWED');
    // Both parts decoded (strictly) before the signature check, so a malformed token is refused as
    // malformed; the payload is parsed only once the signature holds.
    // One byte a character, or a character is not ASCII. Node's base64url decoder and a latin1
    // write keep only the low byte of a character above U+00FF, so without this 'J' + 0x100
    // would pass for 'J' and a token would have other spellings that verify.
    if (input.write(token, 0, 'utf8') !== token.length) throw malformed('the token is not ASCII');
    const payloadLength = decodeBase64url(parts.payload, 'payload', payloadScratch);
    const signatureLength = decodeBase64url(parts.signature, 'signature', signatureScratch);
    const signature = signatureScratch.subarray(0, signatureLength);
    const data = input.subarray(0, parts.signingInputLength);
    if (!verifySignature(alg, found.key, data, signature)) {
      throw new TokenError('ERR_JWS_SIGNATURE_INVALID');
    }
    const claims = parseJsonObject(payloadScratch, payloadLength, 'payload');
    return principalOf(claims, resolved, Math.floor(now() / 1000));
  }

  function verifySync(token: string): Principal {
    const result = attempt(token);
    if (result instanceof UnknownKid) throw new TokenError('ERR_JWKS_NO_MATCHING_KEY');
    return result;
  }

  async function verify(token: string): Promise<Principal> {
    const first = attempt(token);
    if (!(first instanceof UnknownKid)) return first;
    if (keys.refresh !== undefined) {
      await keys.refresh(first.kid);
      const second = attempt(token);
      if (!(second instanceof UnknownKid)) return second;
    }
    throw new TokenError('ERR_JWKS_NO_MATCHING_KEY');
  }

  return Object.freeze({ verifySync, verify });
}

// One verifier per options object, so the plain functions validate their options only once.
const verifiers = new WeakMap<VerifyAccessTokenOptions, AccessTokenVerifier>();

function verifierFor(options: VerifyAccessTokenOptions): AccessTokenVerifier {
  let verifier = verifiers.get(options);
  if (verifier === undefined) {
    verifier = createAccessTokenVerifier(options);
    verifiers.set(options, verifier);
  }
  return verifier;
}

/**
 * Verifies an RFC 9068 access token synchronously and returns its Principal, or throws a
 * TokenError. Options are validated on first use of each options object (keep it; don't mutate it).
 */
export function verifyAccessTokenSync(token: string, options: VerifyAccessTokenOptions): Principal {
  return verifierFor(options).verifySync(token);
}

/** As verifyAccessTokenSync, awaiting a key-source refresh when the token names an unknown kid. */
export async function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<Principal> {
  return verifierFor(options).verify(token);
}
