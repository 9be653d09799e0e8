import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/**
 * Keys derived from the service secret with HKDF-SHA-256, one per purpose, so that the key that
 * encrypts signing keys is never the one that hashes client secrets.
 */
export interface ServiceKeys {
  /** AES-256-GCM key for private signing keys at rest. */
  readonly keyEncryption: Buffer;
  /** HMAC-SHA-256 key for client secrets. */
  readonly clientSecret: Buffer;
  /** HMAC-SHA-256 key of the DPoP server nonces, the same on every instance. */
  readonly dpopNonce: Buffer;
}

const SALT = Buffer.from('tessera token-service v1');

function derive(secret: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, purpose, 32));
}

export function deriveServiceKeys(secret: Uint8Array): ServiceKeys {
  return Object.freeze({
    keyEncryption: derive(secret, 'signing-key-encryption'),
    clientSecret: derive(secret, 'client-secret-hmac'),
    dpopNonce: derive(secret, 'dpop-nonce-hmac'),
  });
}

/** The stored form of a client secret: HMAC-SHA-256, base64url. Cheap on purpose (every /token call). */
export function hashClientSecret(key: Buffer, secret: string): string {
  return createHmac('sha256', key).update(secret, 'utf8').digest('base64url');
}

/** Constant-time comparison of a presented secret with the stored HMAC. */
export function verifyClientSecret(key: Buffer, presented: string, stored: string): boolean {
  const expected = Buffer.from(stored, 'base64url');
  const actual = createHmac('sha256', key).update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const VERSION = 'v1';

/**
 * AES-256-GCM with a random 96-bit IV; `context` (the kid) is the additional data, so a ciphertext
 * moved to another row does not decrypt. Output: `v1.<iv>.<ciphertext>.<tag>` in base64url.
 */
export function encrypt(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    body.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.');
}

/** Decrypts what {@link encrypt} produced; undefined when the key or context is wrong or the data was altered. */
export function decrypt(key: Buffer, sealed: string, context: string): string | undefined {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
  const [, iv, body, tag] = parts as [string, string, string, string];
  const authTag = Buffer.from(tag, 'base64url');
  // A truncated tag would weaken the authentication GCM gives; only the full 16 bytes are accepted.
  if (authTag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(authTag);
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
