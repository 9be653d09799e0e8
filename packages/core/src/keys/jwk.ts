import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isSigningAlgorithm, type SigningAlgorithm } from './algorithms.js';

/** The public JWK of a signing key, as published in a JWKS document. */
export interface PublicJwk {
  readonly kty: 'OKP' | 'EC' | 'RSA';
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

/** The public JWKS document (RFC 7517 section 5). */
export interface JwksDocument {
  readonly keys: PublicJwk[];
}

// Only these members of a JWK ever leave a key set: everything else (d, p, q, dp, dq, qi, oth, k)
// is private or irrelevant, so an allow-list is safer than a deny-list.
const publicMembers = ['crv', 'x', 'y', 'n', 'e'] as const;

/** The algorithm a public JWK is fit for, or undefined when Tessera does not verify with it. */
export function algorithmOfJwk(jwk: Readonly<Record<string, unknown>>): SigningAlgorithm | undefined {
  const { kty, crv } = jwk;
  let alg: SigningAlgorithm | undefined;
  if (kty === 'OKP' && crv === 'Ed25519') alg = 'EdDSA';
  else if (kty === 'EC' && crv === 'P-256') alg = 'ES256';
  else if (kty === 'RSA') alg = 'RS256';
  if (alg === undefined) return undefined;
  // A JWK may pin its alg; one that contradicts its key type is not ours to guess about.
  if (jwk.alg !== undefined && jwk.alg !== alg) return undefined;
  return alg;
}

/** Keeps only the public members of a JWK and adds kid, alg and use. */
export function toPublicJwk(
  jwk: Readonly<Record<string, unknown>>,
  kid: string,
  alg: SigningAlgorithm,
): PublicJwk {
  const out: Record<string, unknown> = { kty: jwk.kty };
  for (const member of publicMembers) {
    if (typeof jwk[member] === 'string') out[member] = jwk[member];
  }
  out.kid = kid;
  out.alg = alg;
  out.use = 'sig';
  return Object.freeze(out) as unknown as PublicJwk;
}

/** True when a JWK carries any member that only a private or symmetric key has. */
export function hasPrivateMembers(jwk: Readonly<Record<string, unknown>>): boolean {
  return (
    jwk.kty === 'oct' ||
    'd' in jwk ||
    'p' in jwk ||
    'q' in jwk ||
    'dp' in jwk ||
    'dq' in jwk ||
    'qi' in jwk ||
    'oth' in jwk ||
    'k' in jwk
  );
}

/** A node:crypto public KeyObject from a public JWK, or undefined when it cannot be imported. */
export function publicKeyObjectOf(
  jwk: Readonly<Record<string, unknown>>,
): { key: KeyObject; alg: SigningAlgorithm } | undefined {
  const alg = algorithmOfJwk(jwk);
  if (alg === undefined || !isSigningAlgorithm(alg)) return undefined;
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    if (key.type !== 'public') return undefined;
    // RSA below 2048 bits is not a signing key anyone should still accept.
    if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return undefined;
    return { key, alg };
  } catch {
    return undefined;
  }
}
