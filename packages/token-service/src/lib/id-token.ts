import { createHash, KeyObject, randomBytes, sign } from 'node:crypto';
import type { KeySet, SigningAlgorithm } from '@tessera/core';

export interface IdTokenClaims {
  readonly subject: string;
  readonly clientId: string;
  readonly authTime: number;
  readonly nonce: string | undefined;
  readonly sid: string | undefined;
  /** The access token issued beside it: its left-half hash becomes `at_hash`. */
  readonly accessToken: string | undefined;
  /** Standard claims released by the granted scopes. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * The claims of an ID token besides the user's standard claims: what `signIdToken` writes
 * (`nonce`, `sid` and `at_hash` when they apply). Discovery's `claims_supported` lists them.
 */
export const idTokenProtocolClaims: readonly string[] = Object.freeze([
  'iss',
  'sub',
  'aud',
  'azp',
  'exp',
  'iat',
  'auth_time',
  'jti',
  'nonce',
  'sid',
  'at_hash',
]);

// OIDC Core 3.1.3.6: at_hash uses the hash of the ID token's alg (SHA-512 for Ed25519).
function atHash(alg: SigningAlgorithm, accessToken: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken, 'ascii')
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * Signs OpenID Connect ID tokens with the active key of the client's registered
 * `id_token_signed_response_alg` (RS256 by default, as OIDC requires every provider to offer).
 */
export function signIdToken(options: {
  readonly keys: KeySet;
  readonly alg: SigningAlgorithm;
  readonly issuer: string;
  readonly lifetime: number;
  readonly now: number;
  readonly claims: IdTokenClaims;
}): string {
  const { keys, alg, issuer, lifetime, claims } = options;
  const iat = Math.floor(options.now / 1000);
  const payload: Record<string, unknown> = {
    ...claims.claims,
    iss: issuer,
    sub: claims.subject,
    aud: claims.clientId,
    azp: claims.clientId,
    exp: iat + lifetime,
    iat,
    auth_time: claims.authTime,
    jti: randomBytes(16).toString('base64url'),
  };
  if (claims.nonce !== undefined) payload.nonce = claims.nonce;
  if (claims.sid !== undefined) payload.sid = claims.sid;
  if (claims.accessToken !== undefined) payload.at_hash = atHash(alg, claims.accessToken);
  return signWithActiveKey(keys, alg, 'JWT', payload);
}

/**
 * Signs a JWT with the active key of `alg` and the given `typ`: the code path of ID tokens, also
 * used for Logout Tokens (`logout+jwt`), which are signed exactly like the client's ID tokens.
 */
export function signWithActiveKey(
  keys: KeySet,
  alg: SigningAlgorithm,
  typ: string,
  payload: Readonly<Record<string, unknown>>,
): string {
  const key = keys.activeKey(alg);
  const header = { alg: key.alg, typ, kid: key.kid };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), {
    key: KeyObject.from(key.privateKey),
    ...(alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
  });
  return `${input}.${signature.toString('base64url')}`;
}
