import { randomBytes } from 'node:crypto';
import { sha256Base64url } from '@tessera/core';

/** 32 random bytes, base64url without padding: 43 characters, 256 bits of entropy. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

// 43 base64url characters whose last one carries 4 data bits and two zero bits: exactly the
// canonical encodings of 32 bytes. Anything else never reaches the store.
const idShape = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export function isWellFormedSessionId(value: string): boolean {
  return value.length === 43 && idShape.test(value);
}

/**
 * The key a session is stored under: SHA-256 of the id. A dump of the store, or its keys in a
 * log, yields nothing a browser could present; a fast hash suffices as the id has 256 bits.
 */
export function hashSessionId(id: string): string {
  return sha256Base64url(id);
}
