import { KeyObject, randomBytes, sign } from 'node:crypto';
import {
  type AccessTokenClaims,
  type Actor,
  type KeySet,
  type SigningAlgorithm,
  type SigningKey,
  TesseraTypeError,
} from '@tessera/core';

export interface IssueOptions {
  /** Seconds; defaults to the signer's lifetime. */
  readonly lifetime?: number;
}

interface CachedKey {
  readonly key: SigningKey;
  readonly header: string;
  readonly privateKey: KeyObject;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_CLAIM', message);
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw misuse(`${name} must be a non-empty string`);
  return value;
}

// The current actor is the outermost `act`; earlier ones nest inside it (RFC 8693 4.1).
function actClaim(actors: readonly Actor[]): Record<string, unknown> | undefined {
  let act: Record<string, unknown> | undefined;
  for (let i = actors.length - 1; i >= 0; i--) {
    const actor = actors[i] as Actor;
    const next: Record<string, unknown> = { sub: nonEmpty('actor subject', actor.subject) };
    if (actor.clientId !== undefined) next.client_id = nonEmpty('actor clientId', actor.clientId);
    if (actor.issuer !== undefined) next.iss = nonEmpty('actor issuer', actor.issuer);
    if (act !== undefined) next.act = act;
    act = next;
  }
  return act;
}

/**
 * Signs RFC 9068 access tokens exactly as core's `signAccessToken` does (header `typ: at+jwt`,
 * alg, kid; claims iss, sub, aud, exp, iat, jti of 128 random bits, client_id, scope, sid,
 * auth_time, act), but synchronously on node:crypto with the header encoded once per key: jose's
 * WebCrypto signing costs about three times as much, and /token's throughput is mostly this call.
 * A differential test checks its tokens against core's verifier and jose.
 */
export class AccessTokenSigner {
  readonly #keys: () => KeySet;
  readonly #issuer: string;
  readonly #lifetime: number;
  readonly #now: () => number;
  readonly #alg: SigningAlgorithm;
  #cached: CachedKey | undefined;

  constructor(options: {
    readonly keys: () => KeySet;
    readonly issuer: string;
    readonly lifetime: number;
    readonly now: () => number;
    readonly alg?: SigningAlgorithm;
  }) {
    this.#keys = options.keys;
    this.#issuer = options.issuer;
    this.#lifetime = options.lifetime;
    this.#now = options.now;
    this.#alg = options.alg ?? 'EdDSA';
  }

  /** The signed token and its claims' `jti` and `exp` (epoch s), e.g. for a revocation record. */
  issue(claims: AccessTokenClaims, options: IssueOptions = {}): { token: string; jti: string; exp: number } {
    const lifetime = options.lifetime ?? this.#lifetime;
    if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'lifetime must be a positive whole number of seconds');
    }
    const signer = this.#signingKey();
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + lifetime;
    const jti = randomBytes(16).toString('base64url');
    const payload = this.#payload(claims);
    payload.iss = this.#issuer;
    payload.iat = iat;
    payload.exp = exp;
    payload.jti = jti;
    const input = `${signer.header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature = sign(signer.key.alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), {
      key: signer.privateKey,
      // ES256 in JWS is the raw r||s pair (RFC 7518 3.4), not DER.
      ...(signer.key.alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
    });
    return { token: `${input}.${signature.toString('base64url')}`, jti, exp };
  }

  #signingKey(): CachedKey {
    const key = this.#keys().activeKey(this.#alg);
    if (this.#cached?.key !== key) {
      const header = Buffer.from(JSON.stringify({ alg: key.alg, typ: 'at+jwt', kid: key.kid })).toString(
        'base64url',
      );
      this.#cached = { key, header, privateKey: KeyObject.from(key.privateKey) };
    }
    return this.#cached as CachedKey;
  }

  #payload(claims: AccessTokenClaims): Record<string, unknown> {
    const payload: Record<string, unknown> = {
      sub: nonEmpty('subject', claims.subject),
      client_id: nonEmpty('clientId', claims.clientId),
    };
    const audience = typeof claims.audience === 'string' ? [claims.audience] : [...claims.audience];
    if (audience.length === 0) throw misuse('audience must not be empty');
    for (const aud of audience) nonEmpty('audience', aud);
    if (claims.scopes !== undefined) {
      for (const scope of claims.scopes) {
        if (!SCOPE_TOKEN.test(scope)) throw misuse('a scope must be an RFC 6749 scope-token');
      }
      payload.scope = claims.scopes.join(' ');
    }
    if (claims.sessionId !== undefined) payload.sid = nonEmpty('sessionId', claims.sessionId);
    if (claims.authTime !== undefined) {
      if (!Number.isSafeInteger(claims.authTime)) throw misuse('authTime must be epoch seconds');
      payload.auth_time = claims.authTime;
    }
    const act = claims.actors === undefined ? undefined : actClaim(claims.actors);
    if (act !== undefined) payload.act = act;
    payload.aud = audience.length === 1 ? audience[0] : audience;
    return payload;
  }
}
