import { KeyObject, sign } from 'node:crypto';
import type { SigningAlgorithm, SigningKey } from '../../src/index.js';

export const issuer = 'https://issuer.test';
export const audience = 'orders';

export const b64 = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url');
export const json = (value: unknown): string => b64(JSON.stringify(value));

/** Claims of a valid access token at `nowSeconds`. */
export function validClaims(
  nowSeconds: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: issuer,
    sub: 'user-1',
    aud: audience,
    exp: nowSeconds + 300,
    iat: nowSeconds,
    jti: 'jti-1',
    client_id: 'web',
    scope: 'orders:read orders:write',
    ...extra,
  };
}

export function headerFor(key: SigningKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...extra };
}

/** Signs raw bytes the way JWS does for the key's algorithm. */
export function signBytes(alg: SigningAlgorithm, key: SigningKey, data: string): Buffer {
  const privateKey = KeyObject.from(key.privateKey);
  const input = Buffer.from(data);
  if (alg === 'EdDSA') return sign(null, input, privateKey);
  if (alg === 'ES256') return sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return sign('sha256', input, privateKey);
}

/** A token from any encoded header and payload parts, signed with the key. */
export function signParts(key: SigningKey, header: string, payload: string): string {
  const input = `${header}.${payload}`;
  return `${input}.${b64(signBytes(key.alg, key, input))}`;
}

/** A token from header and claims objects, signed with the key. */
export function craft(
  key: SigningKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  return signParts(key, json(header), json(claims));
}
