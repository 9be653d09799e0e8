import type { KeyObject } from 'node:crypto';
import { BoundedCache } from '../bounded-cache.js';
import { sha256Base64url } from '../digest.js';
import { TesseraTypeError } from '../errors/base.js';
import { DpopError } from '../errors/dpop.js';
import { isSigningAlgorithm, type SigningAlgorithm } from '../keys/algorithms.js';
import { hasPrivateMembers, publicKeyObjectOf } from '../keys/jwk.js';
import { decodeBase64url } from '../token/compact.js';
import { verifySignature } from '../token/signature.js';
import { normalizeHtu } from './htu.js';

/**
 * Where proof ids are remembered: the one atomic operation a `KeyValueStore` of @tessera/storage
 * offers for it (memory, SQLite, Redis), so every instance sharing the store refuses a replay.
 */
export interface DpopReplayStore {
  compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: { readonly ttlMs: number | undefined },
  ): Promise<boolean>;
}

export interface DpopProofVerifierOptions {
  /** Where each proof's `jti` is recorded for the window; share it between instances. */
  readonly replay: DpopReplayStore;
  /** Algorithms a proof may be signed with. Default EdDSA and ES256 (RS256 on request). */
  readonly algorithms?: readonly SigningAlgorithm[];
  /** Seconds `iat` may lie before or after now. Default 60, at most 600. */
  readonly window?: number;
  /** Longest proof accepted, in characters. Default 8192. */
  readonly maxProofLength?: number;
  /** Prepended to the replay keys. Default `dpop:`. */
  readonly keyPrefix?: string;
  /** Clock in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
}

/** What one request says about its proof. */
export interface DpopProofRequest {
  /** The `DPoP` header's value(s) as received: more than one is refused. */
  readonly proof: string | readonly string[] | undefined;
  /** The request's method, as sent (`htm` is compared exactly). */
  readonly method: string;
  /** The absolute URL the client addressed (its public URL behind a proxy); query and fragment are ignored. */
  readonly url: string;
  /** The access token sent with the proof (a resource request): `ath` must be its hash. */
  readonly accessToken?: string;
  /** When the server hands out nonces: whether the proof's `nonce` is one it still accepts. */
  readonly acceptsNonce?: (nonce: string) => boolean;
}

/** A proof that held: the key it was signed with, by its RFC 7638 thumbprint. */
export interface VerifiedDpopProof {
  /** SHA-256 JWK thumbprint of the proof's key, base64url: the `cnf.jkt` of a token bound to it. */
  readonly jkt: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly iat: number;
  /** The algorithm, in this library's name for it (`Ed25519` proofs are EdDSA). */
  readonly alg: SigningAlgorithm;
}

export interface DpopProofVerifier {
  /** The `alg` names a proof may carry, for `dpop_signing_alg_values_supported` and `algs`. */
  readonly algorithms: readonly string[];
  /** Every check of RFC 9449 4.3 and the replay record; throws a DpopError. */
  verify(request: DpopProofRequest): Promise<VerifiedDpopProof>;
}

export const defaultDpopAlgorithms: readonly SigningAlgorithm[] = Object.freeze(['EdDSA', 'ES256']);
export const defaultDpopWindow = 60;

// A compact JWS: the signature may be empty, so an unsigned proof reaches the alg check.
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const maxJtiLength = 256;
/** Proof headers kept checked, with their keys: far more clients than one instance serves at once. */
const headerCacheSize = 4096;
/** An RSA-4096 key's header is about 1 KiB encoded; nothing longer is kept. */
const maxCachedHeaderLength = 2048;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The one proof of the request, or why there is none. */
function singleProof(proof: DpopProofRequest['proof'], maxLength: number): string {
  const values = typeof proof === 'string' ? [proof] : (proof ?? []);
  if (values.length === 0 || values[0] === '') throw new DpopError('ERR_DPOP_PROOF_MISSING');
  if (values.length > 1) throw new DpopError('ERR_DPOP_PROOF_MALFORMED', 'more than one DPoP header');
  const value = values[0] as string;
  if (value.length > maxLength) throw new DpopError('ERR_DPOP_PROOF_MALFORMED', 'the DPoP proof is too long');
  // Node joins a repeated header with ", ", which no compact JWS contains: refused here too.
  if (!compactJws.test(value)) {
    throw new DpopError('ERR_DPOP_PROOF_MALFORMED', 'the DPoP header is not one compact JWS');
  }
  return value;
}

function headerAlgorithm(alg: unknown, allowed: ReadonlySet<SigningAlgorithm>): SigningAlgorithm {
  if (typeof alg !== 'string') throw new DpopError('ERR_DPOP_ALG_NOT_ALLOWED', 'the proof header has no alg');
  // RFC 9864's fully specified name for EdDSA on Ed25519, which current clients send.
  const name = alg === 'Ed25519' ? 'EdDSA' : alg;
  if (!isSigningAlgorithm(name) || !allowed.has(name)) {
    throw new DpopError('ERR_DPOP_ALG_NOT_ALLOWED', 'the proof algorithm is not allowed');
  }
  return name;
}

/** A proof key as imported once: the KeyObject, the algorithm it fits, its RFC 7638 thumbprint. */
interface ProofKey {
  readonly key: KeyObject;
  readonly alg: SigningAlgorithm;
  readonly jkt: string;
}

// The members RFC 7638 3.2 hashes for each key type, in its lexicographic order: they alone
// determine the public key, so they are what is imported as well as hashed.
const requiredMembers: Readonly<Record<string, readonly string[]>> = {
  OKP: ['crv', 'kty', 'x'],
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
};

/** RFC 7638 3's input for a JWK: its required members, all strings, as canonical JSON. */
function thumbprintInput(jwk: Readonly<Record<string, unknown>>): string {
  const names = typeof jwk.kty === 'string' ? requiredMembers[jwk.kty] : undefined;
  if (names === undefined) throw new DpopError('ERR_DPOP_JWK_INVALID', 'the proof jwk is not a usable key');
  const members: Record<string, string> = {};
  for (const name of names) {
    const value = jwk[name];
    if (typeof value !== 'string') {
      throw new DpopError('ERR_DPOP_JWK_INVALID', 'the proof jwk is not a usable key');
    }
    members[name] = value;
  }
  return JSON.stringify(members);
}

/** The proof's key from its `jwk`: public members only, one that imports and fits `alg`. */
function proofKey(jwk: unknown, alg: SigningAlgorithm): ProofKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new DpopError('ERR_DPOP_JWK_INVALID', 'the proof header has no jwk');
  }
  const given = jwk as Record<string, unknown>;
  if (hasPrivateMembers(given)) {
    throw new DpopError('ERR_DPOP_JWK_INVALID', 'the proof jwk holds private key members');
  }
  const input = thumbprintInput(given);
  const imported = publicKeyObjectOf(JSON.parse(input) as Record<string, string>);
  if (imported === undefined)
    throw new DpopError('ERR_DPOP_JWK_INVALID', 'the proof jwk is not a usable key');
  if (imported.alg !== alg) {
    throw new DpopError('ERR_DPOP_ALG_NOT_ALLOWED', 'the proof algorithm does not fit its key');
  }
  return Object.freeze({ key: imported.key, alg, jkt: sha256Base64url(input) });
}

/**
 * Every check of a proof's header (JSON, `typ`, an allowed `alg`, no `crit` or `b64`, a public
 * `jwk` that imports and fits the `alg`), and the key it names.
 */
function checkedHeader(encoded: string, allowed: ReadonlySet<SigningAlgorithm>): ProofKey {
  const header = jsonObject(encoded);
  if (header === undefined) throw new DpopError('ERR_DPOP_PROOF_MALFORMED', 'the proof header is not JSON');
  if (header.typ !== 'dpop+jwt') throw new DpopError('ERR_DPOP_TYP_INVALID');
  const alg = headerAlgorithm(header.alg, allowed);
  if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64')) {
    throw new DpopError('ERR_DPOP_PROOF_MALFORMED', 'the proof header has a crit parameter');
  }
  return proofKey(header.jwk, alg);
}

/** The proof's signature bytes, decoded strictly (canonical base64url), or none when it is not. */
function signatureOf(proof: string, signatureStart: number): Buffer {
  const encoded = proof.slice(signatureStart + 1);
  const scratch = Buffer.allocUnsafe(Math.ceil((encoded.length * 3) / 4));
  try {
    return scratch.subarray(0, encoded.length % 4 === 1 ? 0 : decodeBase64url(encoded, 'signature', scratch));
  } catch {
    return Buffer.alloc(0);
  }
}

function claimInvalid(name: string): DpopError {
  return new DpopError('ERR_DPOP_CLAIM_INVALID', `the proof ${name} claim is missing or has the wrong type`);
}

/**
 * Validates the options once and returns the verifier of DPoP proofs (RFC 9449 4.3): one proof, a
 * compact JWS whose header has `typ: dpop+jwt`, an allowed asymmetric `alg` fitting its `jwk`, a
 * `jwk` with public members only (a header seen before is not checked again); the signature
 * (node:crypto) with that key; `jti`, `htm` equal to the
 * method, `htu` equal to the URL (both normalised), `iat` within the window, `ath` the token's
 * hash when a token is sent, the nonce when the server asks for one; and last, the `jti` recorded
 * once per key for the window (set-if-absent), so a proof works once, on any instance.
 */
export function createDpopProofVerifier(options: DpopProofVerifierOptions): DpopProofVerifier {
  if (typeof options !== 'object' || options === null) throw misuse('options are required');
  const { replay, algorithms = defaultDpopAlgorithms, now = Date.now, keyPrefix = 'dpop:' } = options;
  if (typeof replay !== 'object' || replay === null || typeof replay.compareAndSet !== 'function') {
    throw misuse('replay must be a store with compareAndSet (a KeyValueStore)');
  }
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every(isSigningAlgorithm)) {
    throw misuse('algorithms must be a non-empty list of EdDSA, ES256, RS256');
  }
  const window = options.window ?? defaultDpopWindow;
  if (!Number.isSafeInteger(window) || window < 1 || window > 600) {
    throw misuse('window must be 1 to 600 seconds');
  }
  const maxProofLength = options.maxProofLength ?? 8192;
  if (!Number.isSafeInteger(maxProofLength) || maxProofLength < 256) {
    throw misuse('maxProofLength must be an integer of at least 256');
  }
  if (typeof now !== 'function') throw misuse('now must be a function returning epoch ms');
  if (typeof keyPrefix !== 'string') throw misuse('keyPrefix must be a string');
  const allowed = new Set<SigningAlgorithm>(algorithms);
  const headers = new BoundedCache<ProofKey>({ max: headerCacheSize });
  const advertised = Object.freeze(
    [...allowed].flatMap((alg) => (alg === 'EdDSA' ? ['EdDSA', 'Ed25519'] : [alg])),
  );

  async function verify(request: DpopProofRequest): Promise<VerifiedDpopProof> {
    const proof = singleProof(request.proof, maxProofLength);
    const [encodedHeader, encodedPayload] = proof.split('.') as [string, string, string];
    // A client sends the same header (typ, alg, its jwk) with every proof: the outcome of its
    // checks, the imported key and its thumbprint, is kept by the header as sent. Only a header
    // that passed is kept, and only one of a key's size, so the cache stays small.
    let known = headers.get(encodedHeader);
    if (known === undefined) {
      known = checkedHeader(encodedHeader, allowed);
      if (encodedHeader.length <= maxCachedHeaderLength) headers.set(encodedHeader, known);
    }
    const { key, alg, jkt } = known;
    // The one signature check, synchronous on node:crypto as the access token's: the signature
    // of the right length for the algorithm (P1363 for ES256), over the header and payload as sent.
    const signatureStart = proof.lastIndexOf('.');
    if (
      !verifySignature(
        alg,
        key,
        Buffer.from(proof.slice(0, signatureStart)),
        signatureOf(proof, signatureStart),
      )
    ) {
      throw new DpopError('ERR_DPOP_SIGNATURE_INVALID');
    }
    const claims = jsonObject(encodedPayload);
    if (claims === undefined)
      throw new DpopError('ERR_DPOP_PROOF_MALFORMED', 'the proof payload is not JSON');
    const { jti, htm, htu, iat, ath, nonce } = claims;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > maxJtiLength) throw claimInvalid('jti');
    if (typeof htm !== 'string') throw claimInvalid('htm');
    if (typeof htu !== 'string') throw claimInvalid('htu');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw claimInvalid('iat');
    if (htm !== request.method) throw new DpopError('ERR_DPOP_METHOD_MISMATCH');
    const expectedUrl = normalizeHtu(request.url);
    if (expectedUrl === undefined) throw misuse('the request URL is not an absolute http(s) URL');
    if (normalizeHtu(htu) !== expectedUrl) throw new DpopError('ERR_DPOP_URL_MISMATCH');
    const nowMs = now();
    if (Math.abs(nowMs / 1000 - iat) > window) throw new DpopError('ERR_DPOP_IAT_OUT_OF_WINDOW');
    if (request.accessToken !== undefined && ath !== sha256Base64url(request.accessToken)) {
      throw new DpopError('ERR_DPOP_ATH_MISMATCH');
    }
    if (request.acceptsNonce !== undefined && (typeof nonce !== 'string' || !request.acceptsNonce(nonce))) {
      throw new DpopError('ERR_DPOP_NONCE_REQUIRED');
    }
    // Last, so that a proof refused for anything else does not use its jti up. Kept until the
    // proof leaves the window, by when it is refused for its iat anyway.
    const ttlMs = Math.max(1000, Math.ceil((iat + window) * 1000 - nowMs) + 1000);
    const fresh = await replay.compareAndSet(`${keyPrefix}${sha256Base64url(`${jkt}.${jti}`)}`, null, '1', {
      ttlMs,
    });
    if (!fresh) throw new DpopError('ERR_DPOP_REPLAYED');
    return Object.freeze({ jkt, jti, iat, alg });
  }

  return Object.freeze({ algorithms: advertised, verify });
}
