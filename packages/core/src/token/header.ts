import { TokenError } from '../errors/token.js';
import type { SigningAlgorithm } from '../keys/algorithms.js';

/** What the verifier keeps of a header that passed every check. */
export interface CheckedHeader {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
}

export const maxKidLength = 256;

// Headers that would let the token choose its own key, or change how it is processed.
const untrusted = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/** Applies every header rule of the profile, in a fixed order; throws the first failure's code. */
export function checkHeader(
  header: Readonly<Record<string, unknown>>,
  allowed: ReadonlySet<string>,
): CheckedHeader {
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string') throw new TokenError('ERR_JWS_ALG_NOT_ALLOWED', 'the header has no alg');
  if (alg.toLowerCase() === 'none') throw new TokenError('ERR_JWS_ALG_NONE');
  if (/^hs/i.test(alg) || /hmac/i.test(alg)) throw new TokenError('ERR_JWS_ALG_HMAC');
  if (!allowed.has(alg)) throw new TokenError('ERR_JWS_ALG_NOT_ALLOWED');
  for (const name of untrusted) {
    if (Object.hasOwn(header, name)) throw new TokenError('ERR_JWS_HEADER_UNTRUSTED');
  }
  if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64')) {
    throw new TokenError('ERR_JWS_CRIT_UNSUPPORTED');
  }
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > maxKidLength) {
    throw new TokenError('ERR_JWS_KID_INVALID');
  }
  // RFC 9068 section 4: "at+jwt", and the media type may carry its "application/" prefix.
  if (typeof typ !== 'string') throw new TokenError('ERR_JWT_TYP_INVALID');
  const lower = typ.toLowerCase();
  if (lower !== 'at+jwt' && lower !== 'application/at+jwt') throw new TokenError('ERR_JWT_TYP_INVALID');
  return { alg: alg as SigningAlgorithm, kid };
}
