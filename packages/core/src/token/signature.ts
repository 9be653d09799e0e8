import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../keys/algorithms.js';

// Keys already checked to fit an algorithm, so the hot path pays one WeakMap lookup, not a
// details object per call.
const fitness = new WeakMap<KeyObject, SigningAlgorithm>();

function fits(alg: SigningAlgorithm, key: KeyObject): boolean {
  if (fitness.get(key) === alg) return true;
  const details = key.asymmetricKeyDetails;
  const ok =
    (alg === 'EdDSA' && key.asymmetricKeyType === 'ed25519') ||
    (alg === 'ES256' && key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') ||
    (alg === 'RS256' && key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048);
  if (ok) fitness.set(key, alg);
  return ok;
}

/**
 * Synchronous signature check on node:crypto. Never throws: a signature of the wrong length, a
 * DER-encoded ECDSA signature, r or s out of range, or a key of the wrong type is simply false.
 */
export function verifySignature(
  alg: SigningAlgorithm,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  if (!fits(alg, key)) return false;
  try {
    switch (alg) {
      case 'EdDSA':
        return signature.length === 64 && cryptoVerify(null, data, key, signature);
      case 'ES256':
        // JWS carries r || s (IEEE P1363), 32 bytes each for P-256; never DER.
        return (
          signature.length === 64 &&
          cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'RS256':
        return signature.length >= 256 && cryptoVerify('sha256', data, key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
