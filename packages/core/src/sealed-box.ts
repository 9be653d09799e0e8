import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { TesseraTypeError } from './errors/index.js';
import { RandomPool } from './random-pool.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Authenticated encryption for values a service hands to someone it does not trust with their
 * content, and takes back later: AES-256-GCM, a fresh 96-bit IV each time (from a RandomPool),
 * optional additional data that is authenticated but not carried, and the result as one
 * base64url string `iv || ciphertext || tag`. `open` returns undefined for anything that was not
 * sealed by this key with this additional data (altered, truncated, another key), never throws.
 * Used for session references (the head as additional data), the gateway's sign-in cookie and
 * the tokens a hybrid session keeps.
 */
export class SealedBox {
  readonly #key: Buffer;
  readonly #ivs = new RandomPool();

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new TesseraTypeError('ERR_INVALID_OPTION', 'a SealedBox key is 32 bytes');
    }
    this.#key = Buffer.from(key);
  }

  /** A box whose key is derived (HKDF-SHA-256) from a secret for one purpose, so one secret serves several. */
  static fromSecret(secret: string | Uint8Array, purpose: string): SealedBox {
    return new SealedBox(new Uint8Array(hkdfSync('sha256', secret, '', purpose, 32)));
  }

  seal(plaintext: string | Uint8Array, additionalData?: string): string {
    const iv = this.#ivs.bytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    if (additionalData !== undefined) cipher.setAAD(Buffer.from(additionalData, 'utf8'));
    const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
    return Buffer.concat([iv, body, cipher.final(), cipher.getAuthTag()]).toString('base64url');
  }

  open(sealed: string, additionalData?: string): Buffer | undefined {
    if (typeof sealed !== 'string' || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 1) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      if (additionalData !== undefined) decipher.setAAD(Buffer.from(additionalData, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }
}
