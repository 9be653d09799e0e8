import { KeyObject, type SignKeyObjectInput, sign } from 'node:crypto';
import { TesseraTypeError } from '../errors/base.js';
import type { SigningAlgorithm } from '../keys/algorithms.js';
import { KeySet } from '../keys/key-set.js';
import type { SigningKey } from '../keys/signing-key.js';
import { RandomPool } from '../random-pool.js';
import { type AccessTokenClaims, accessTokenPayload } from './payload.js';

export const defaultAccessTokenLifetime = 300;

export interface AccessTokenSignerOptions {
  /** A key set (its active key of `alg` signs, followed across rotations), a function returning
   * the current key set (one that is reloaded), or one key. */
  readonly keys: KeySet | (() => KeySet) | SigningKey;
  readonly issuer: string;
  /** Seconds. Default 300: short-lived, so a leaked token is good for minutes. */
  readonly lifetime?: number;
  /** Which active key of a key set signs. Default EdDSA. */
  readonly alg?: SigningAlgorithm;
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

export interface IssueOptions {
  /** Seconds; defaults to the signer's lifetime. */
  readonly lifetime?: number;
}

/** A signed access token with the claims a revocation record needs. */
export interface IssuedAccessToken {
  readonly token: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly exp: number;
}

interface PreparedKey {
  readonly key: SigningKey;
  readonly header: string;
  /** What `crypto.sign` takes for this key: its digest, and the key with its signature encoding. */
  readonly digest: 'sha256' | null;
  readonly signingKey: KeyObject | SignKeyObjectInput;
}

function checkLifetime(lifetime: number): number {
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'lifetime must be a positive whole number of seconds');
  }
  return lifetime;
}

const JTI_BYTES = 16;

/**
 * Signs RFC 9068 access tokens: header `{ alg, typ: 'at+jwt', kid }`, claims iss, sub, aud, exp,
 * iat, jti (128 random bits), client_id, and scope, sid, auth_time, act when given.
 *
 * Signing is synchronous on node:crypto with the header encoded once per key, not through jose:
 * measured here, jose's WebCrypto signing reaches 8-9k EdDSA tokens/s on one thread and this path
 * 23-26k/s, and a token endpoint's throughput is mostly this call. `test/signer.test.ts` checks its
 * tokens against jose's signer and verifier.
 */
export class AccessTokenSigner {
  readonly #currentKey: () => SigningKey;
  readonly #issuer: string;
  readonly #lifetime: number;
  readonly #now: () => number;
  #prepared: PreparedKey | undefined;
  // jti bytes come from a pool: one randomBytes(16) per token was up to 7% of a /token request.
  readonly #jtiPool = new RandomPool();

  constructor(options: AccessTokenSignerOptions) {
    const alg = options.alg ?? 'EdDSA';
    const { keys } = options;
    if (keys instanceof KeySet) this.#currentKey = () => keys.activeKey(alg);
    else if (typeof keys === 'function') this.#currentKey = () => keys().activeKey(alg);
    else this.#currentKey = () => keys;
    this.#issuer = options.issuer;
    if (typeof this.#issuer !== 'string' || this.#issuer.length === 0) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'issuer must be a non-empty string');
    }
    this.#lifetime = checkLifetime(options.lifetime ?? defaultAccessTokenLifetime);
    this.#now = options.now ?? Date.now;
  }

  /** 128 random bits, base64url. */
  #nextJti(): string {
    return this.#jtiPool.base64url(JTI_BYTES);
  }

  issue(claims: AccessTokenClaims, options: IssueOptions = {}): IssuedAccessToken {
    const lifetime = options.lifetime === undefined ? this.#lifetime : checkLifetime(options.lifetime);
    const prepared = this.#prepare();
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + lifetime;
    const jti = this.#nextJti();
    const payload = accessTokenPayload(claims);
    payload.iss = this.#issuer;
    payload.iat = iat;
    payload.exp = exp;
    payload.jti = jti;
    const input = `${prepared.header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature = sign(prepared.digest, Buffer.from(input), prepared.signingKey);
    return { token: `${input}.${signature.toString('base64url')}`, jti, exp };
  }

  #prepare(): PreparedKey {
    const key = this.#currentKey();
    if (this.#prepared?.key !== key) {
      const header = Buffer.from(JSON.stringify({ alg: key.alg, typ: 'at+jwt', kid: key.kid })).toString(
        'base64url',
      );
      const privateKey = KeyObject.from(key.privateKey);
      this.#prepared = {
        key,
        header,
        digest: key.alg === 'EdDSA' ? null : 'sha256',
        // ES256 in JWS is the raw r || s pair (RFC 7518 3.4), not DER.
        signingKey: key.alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey,
      };
    }
    return this.#prepared as PreparedKey;
  }
}
