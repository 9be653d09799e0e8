import { timingSafeEqual } from 'node:crypto';
import { sha256Base64url } from '@tessera/core';

// RFC 7636 4.1: code_verifier = 43*128 unreserved characters.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
// RFC 7636 4.2: an S256 challenge is BASE64URL(SHA-256(verifier)): exactly 43 base64url characters.
const S256_CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

export function isValidVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

export function isValidS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

/** Whether BASE64URL(SHA-256(verifier)) equals the challenge, compared in constant time. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(sha256Base64url(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
