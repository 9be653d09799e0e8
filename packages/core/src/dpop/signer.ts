import { KeyObject, sign } from 'node:crypto';
import { sha256Base64url } from '../digest.js';
import { TesseraTypeError } from '../errors/base.js';
import type { SigningAlgorithm } from '../keys/algorithms.js';
import { generateSigningKey, type SigningKey } from '../keys/signing-key.js';
import { RandomPool } from '../random-pool.js';
import { normalizeHtu } from './htu.js';

/**
 * The `DPoP-Nonce` header of an answer (RFC 9449 8, 9) as a client keeps it for its next proof:
 * a non-empty value of bounded length, so a server cannot make every later proof grow without end.
 */
export function keptDpopNonce(header: string | null | undefined): string | undefined {
  return typeof header === 'string' && header.length > 0 && header.length <= 1024 ? header : undefined;
}

/** The request a proof is made for. */
export interface DpopProofInput {
  readonly method: string;
  /** The URL as the client addresses it; query and fragment are left out of `htu`. */
  readonly url: string;
  /** The access token the request carries: its hash becomes `ath`. */
  readonly accessToken?: string;
  /** The last `DPoP-Nonce` the server sent, when it asks for nonces. */
  readonly nonce?: string;
}

export interface DpopProofSignerOptions {
  /** Clock in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Makes DPoP proofs (RFC 9449 4.2) with one key pair, for any client of ours (a service calling
 * the token service or another service): header `{ typ: 'dpop+jwt', alg, jwk }` with the public
 * members only, claims `jti` (128 random bits), `htm`, `htu`, `iat`, and `ath` and `nonce` when
 * given. Synchronous on node:crypto, as the access-token signer.
 */
export class DpopProofSigner {
  /** The key's RFC 7638 thumbprint: the `cnf.jkt` of the tokens bound to it. */
  readonly jkt: string;
  readonly alg: SigningAlgorithm;
  readonly #privateKey: KeyObject;
  readonly #header: string;
  readonly #now: () => number;
  readonly #jtiPool = new RandomPool();

  /** A signer with a fresh key: Ed25519 (EdDSA) by default, P-256 for ES256, RSA-2048 for RS256. */
  static async generate(alg: SigningAlgorithm = 'EdDSA', options: DpopProofSignerOptions = {}) {
    return new DpopProofSigner(await generateSigningKey(alg), options);
  }

  constructor(key: SigningKey, options: DpopProofSignerOptions = {}) {
    const { kid: _kid, alg: _alg, use: _use, ...jwk } = key.publicJwk;
    this.alg = key.alg;
    // A SigningKey's kid is its thumbprint (RFC 7638) already.
    this.jkt = key.kid;
    this.#privateKey = KeyObject.from(key.privateKey);
    this.#header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: key.alg, jwk })).toString('base64url');
    this.#now = options.now ?? Date.now;
  }

  proof(input: DpopProofInput): string {
    const htu = normalizeHtu(input.url);
    if (htu === undefined) {
      throw new TesseraTypeError('ERR_INVALID_URL', 'a DPoP proof is made for an absolute http(s) URL');
    }
    if (typeof input.method !== 'string' || input.method.length === 0) {
      throw new TesseraTypeError('ERR_INVALID_METHOD', 'a DPoP proof needs the request method');
    }
    const claims: Record<string, unknown> = {
      jti: this.#jtiPool.base64url(16),
      htm: input.method,
      htu,
      iat: Math.floor(this.#now() / 1000),
    };
    if (input.accessToken !== undefined) claims.ath = sha256Base64url(input.accessToken);
    if (input.nonce !== undefined) claims.nonce = input.nonce;
    const signingInput = `${this.#header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = sign(this.alg === 'EdDSA' ? null : 'sha256', Buffer.from(signingInput), {
      key: this.#privateKey,
      ...(this.alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
    });
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  /**
   * The headers of a request to a resource server with a token bound to this key (RFC 9449 7.1):
   * `Authorization: DPoP <token>` and a fresh proof for this method, URL and token.
   */
  requestHeaders(input: DpopProofInput & { readonly accessToken: string }): {
    readonly authorization: string;
    readonly dpop: string;
  } {
    return { authorization: `DPoP ${input.accessToken}`, dpop: this.proof(input) };
  }
}
