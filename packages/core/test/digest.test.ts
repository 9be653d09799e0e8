import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Base64url } from '../src/index.js';

describe('sha256Base64url', () => {
  it('is the SHA-256 of the UTF-8 bytes, base64url without padding', () => {
    // FIPS 180-2 test vector for "abc".
    expect(Buffer.from(sha256Base64url('abc'), 'base64url').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    for (const value of ['', 'é ✓ 🔑', 'x'.repeat(10_000)]) {
      const expected = createHash('sha256').update(value, 'utf8').digest('base64url');
      expect(sha256Base64url(value)).toBe(expected);
      expect(sha256Base64url(value)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });
});
