import { hash } from 'node:crypto';

/**
 * The SHA-256 of a token: the only form in which a token is ever kept as a key (verified-token
 * cache, exchanged-token cache). A memory dump or a debug print of a cache yields no usable token
 * (SECURITY-CASES G 91). One-shot `crypto.hash` (Node >= 20.12) skips the Hash object.
 */
export function tokenHash(token: string): string {
  return hash('sha256', token, 'base64url');
}
