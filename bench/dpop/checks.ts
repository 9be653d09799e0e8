// The three checks the DPoP benchmark compares (EdDSA tokens and proofs throughout), each built once and shared by the HTTP servers
// (servers.ts) and the in-process measurement (index.ts), so both measure the same code:
// - bearer: @tessera/resource's `bearer` source, no verified-token cache;
// - dpop: its `dpop` source, no verified-token cache (a cached token would skip the token's
//   signature, which the floor counts), jti recorded in the store;
// - floor: what a DPoP check cannot do without, and nothing else: `crypto.verify` of the token
//   and of the proof on KeyObjects made once, then one `compareAndSet(key, null, ...)` (the
//   set-if-absent a jti record is) on the same kind of store.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { KeySource } from '@tessera/core';
import { bearer, createVerifier, dpop, type IdentitySource } from '@tessera/resource';
import { type KeyValueStore, MemoryStore, RedisStore } from '@tessera/storage';

export type StoreKind = 'memory' | 'redis';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * Proofs are made before the run, so the iat window is the largest the verifier allows: it decides
 * only how long a jti stays recorded, not what a check does.
 */
export const PROOF_WINDOW_S = 600;

/** A store of this kind under a prefix of its own; its entries expire with their TTL. */
export function storeOf(kind: StoreKind, prefix: string): KeyValueStore {
  return kind === 'redis' ? new RedisStore({ url: REDIS_URL, prefix }) : new MemoryStore({ prefix });
}

export interface CheckSetup {
  readonly issuer: string;
  readonly audience: string;
  /** The token service's keys: in-process (a KeySet) or at a JWKS URL. */
  readonly keys: { readonly source: KeySource } | { readonly jwksUri: string };
  readonly store: KeyValueStore;
}

export async function sourceOf(kind: 'bearer' | 'dpop', setup: CheckSetup): Promise<IdentitySource> {
  const verifier = await createVerifier({
    issuer: setup.issuer,
    audience: setup.audience,
    ...('source' in setup.keys ? { keys: setup.keys.source } : { jwksUri: setup.keys.jwksUri }),
    algorithms: ['EdDSA'],
    cache: false,
  });
  if (kind === 'bearer') return bearer(verifier);
  return dpop(verifier, { replay: setup.store, algorithms: ['EdDSA'], window: PROOF_WINDOW_S });
}

/** The signing input and signature of a compact JWS, split once. */
function signed(jws: string): readonly [Buffer, Buffer] {
  const dot = jws.lastIndexOf('.');
  return [Buffer.from(jws.slice(0, dot)), Buffer.from(jws.slice(dot + 1), 'base64url')];
}

/** The floor: two raw verifies and one set-if-absent; false when either signature fails. */
export function floorCheck(
  tokenKeyPem: string,
  proofKeyPem: string,
  store: KeyValueStore,
): (token: string, proof: string) => Promise<boolean> {
  const tokenKey: KeyObject = createPublicKey(tokenKeyPem);
  const proofKey: KeyObject = createPublicKey(proofKeyPem);
  return async (token, proof) => {
    const [tokenInput, tokenSignature] = signed(token);
    const [proofInput, proofSignature] = signed(proof);
    if (!verify(null, tokenInput, tokenKey, tokenSignature)) return false;
    if (!verify(null, proofInput, proofKey, proofSignature)) return false;
    // The proof's signature is as unique as its jti, and needs no parsing to get at.
    return store.compareAndSet(`floor:${proof.slice(-43)}`, null, '1', { ttlMs: PROOF_WINDOW_S * 1000 });
  };
}
