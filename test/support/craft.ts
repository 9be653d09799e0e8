import { KeyObject, sign } from 'node:crypto';
import type { SigningKey } from '@tessera/core';

// Tokens built byte by byte, outside the code under test, so a test can reach every defect a
// verifier must refuse (bad encodings, foreign algorithms, wrong types) with a valid signature.

export const b64 = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url');
export const json = (value: unknown): string => b64(JSON.stringify(value));

/** The JOSE header of an access token signed with the key. */
export function header(key: SigningKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...extra };
}

/** Signs raw bytes the way JWS does for the key's algorithm (ES256 as JWS's raw r||s by default). */
export function signBytes(
  key: SigningKey,
  data: string,
  dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363',
): Buffer {
  const privateKey = KeyObject.from(key.privateKey);
  if (key.alg === 'EdDSA') return sign(null, Buffer.from(data), privateKey);
  if (key.alg === 'ES256') return sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding });
  return sign('sha256', Buffer.from(data), privateKey);
}

/** A token from any encoded header and payload parts, signed with the key. */
export function signParts(key: SigningKey, encodedHeader: string, encodedPayload: string): string {
  const input = `${encodedHeader}.${encodedPayload}`;
  return `${input}.${b64(signBytes(key, input))}`;
}

/** A token from header and claims objects, signed with the key. */
export function craft(key: SigningKey, head: Record<string, unknown>, body: Record<string, unknown>): string {
  return signParts(key, json(head), json(body));
}

export const parts = (token: string) => token.split('.') as [string, string, string];

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A part whose length is not a multiple of 4 with its last character's lowest unused bit set:
 * every decoder reads the same bytes, but it is not the canonical encoding.
 */
export function twinOf(part: string): string {
  if (part.length % 4 === 0) throw new TypeError('a part of 4n characters has no unused bits');
  const value = alphabet.indexOf(part.slice(-1));
  return `${part.slice(0, -1)}${alphabet[value | 1]}`;
}
