import { KeyObject, type webcrypto } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { TesseraTypeError } from '../errors/base.js';
import { isSigningAlgorithm, type SigningAlgorithm } from './algorithms.js';
import { type PublicJwk, toPublicJwk } from './jwk.js';

type CryptoKey = webcrypto.CryptoKey;

/**
 * A key pair that signs tokens. `kid` is the RFC 7638 thumbprint of the public key, so the same
 * key always has the same id, wherever it is loaded.
 */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** For signing (jose). */
  readonly privateKey: CryptoKey;
  /** For verifying on the synchronous node:crypto path. */
  readonly publicKey: KeyObject;
  readonly publicJwk: PublicJwk;
}

/** A private JWK as persisted by a token service; contains the secret key material. */
export interface PrivateJwk extends JWK {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
}

function assertAlgorithm(alg: unknown): asserts alg is SigningAlgorithm {
  if (!isSigningAlgorithm(alg)) {
    throw new TesseraTypeError('ERR_INVALID_ALGORITHM', 'alg must be one of EdDSA, ES256, RS256');
  }
}

async function fromCryptoKeys(
  alg: SigningAlgorithm,
  privateKey: CryptoKey,
  publicKey: CryptoKey,
): Promise<SigningKey> {
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return Object.freeze({
    kid,
    alg,
    privateKey,
    publicKey: KeyObject.from(publicKey),
    publicJwk: toPublicJwk(jwk as Record<string, unknown>, kid, alg),
  });
}

/** Generates a signing key: Ed25519 for EdDSA (the default), P-256 for ES256, RSA-2048 for RS256. */
export async function generateSigningKey(alg: SigningAlgorithm = 'EdDSA'): Promise<SigningKey> {
  assertAlgorithm(alg);
  const pair = await generateKeyPair(alg, { extractable: true });
  return fromCryptoKeys(alg, pair.privateKey, pair.publicKey);
}

/** The private JWK of a signing key, with kid and alg, for a token service to persist. */
export async function exportSigningKey(key: SigningKey): Promise<PrivateJwk> {
  const jwk = await exportJWK(key.privateKey);
  return { ...jwk, kid: key.kid, alg: key.alg };
}

/** Re-creates a signing key from its private JWK; the kid is recomputed, never trusted. */
export async function importSigningKey(jwk: PrivateJwk): Promise<SigningKey> {
  assertAlgorithm(jwk.alg);
  if (typeof jwk.d !== 'string') {
    throw new TesseraTypeError('ERR_INVALID_KEY', 'a signing key JWK must contain its private part');
  }
  const privateKey = await importJWK({ ...jwk, ext: true }, jwk.alg, { extractable: true });
  if (privateKey instanceof Uint8Array || privateKey.type !== 'private') {
    throw new TesseraTypeError('ERR_INVALID_KEY', 'the JWK is not an asymmetric private key');
  }
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...publicPart } = jwk;
  const publicKey = await importJWK({ ...publicPart, ext: true, key_ops: ['verify'] }, jwk.alg, {
    extractable: true,
  });
  if (publicKey instanceof Uint8Array || publicKey.type !== 'public') {
    throw new TesseraTypeError('ERR_INVALID_KEY', 'the JWK is not an asymmetric key');
  }
  const key = await fromCryptoKeys(jwk.alg, privateKey, publicKey);
  // RSA below 2048 bits signs nothing of ours (RFC 7518 3.3; verifiers refuse it too).
  if (jwk.alg === 'RS256' && (key.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new TesseraTypeError('ERR_INVALID_KEY', 'an RS256 signing key must be RSA-2048 or larger');
  }
  if (jwk.kid !== key.kid) {
    throw new TesseraTypeError('ERR_INVALID_KEY', 'the kid of the JWK is not its RFC 7638 thumbprint');
  }
  return key;
}
