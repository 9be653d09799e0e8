import { createHash } from 'node:crypto';

/**
 * The SHA-256 of a token: the only form in which a token is ever kept as a key (verified-token
 * cache, exchanged-token cache). A memory dump or a debug print of a cache yields no usable token
 * (SECURITY-CASES G 91).
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
