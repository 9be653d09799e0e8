import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';
import { TesseraTypeError } from '@tessera/core';
import { IdentityError } from './errors.js';

/** argon2id cost parameters. */
export interface Argon2Parameters {
  /** Memory in KiB (`m=` of the PHC string). */
  readonly memoryCost: number;
  /** Passes over the memory (`t=`). */
  readonly timeCost: number;
  /** Lanes (`p=`). */
  readonly parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, first argon2id option: 19 MiB, 2 passes, 1 lane. */
export const owaspArgon2Parameters: Argon2Parameters = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

export interface PasswordHasherOptions extends Partial<Argon2Parameters> {
  /** Shortest new password, in characters (code points). Default 8 (ASVS 6.2.1). Login is not checked. */
  readonly minLength?: number;
  /**
   * Largest password, in UTF-8 bytes after normalisation. Default 1024: far above any passphrase,
   * low enough that a megabyte "password" cannot make each guess expensive for the server.
   */
  readonly maxBytes?: number;
}

/**
 * Hashes and checks passwords. An interface so a caller (or a test counting the work done) can
 * wrap it; `createPasswordHasher` is the argon2id implementation.
 */
export interface PasswordHasher {
  /** The resolved parameters and limits, frozen. */
  readonly parameters: Argon2Parameters;
  readonly minLength: number;
  readonly maxBytes: number;
  /**
   * Checks a new password against the policy (throws `ERR_PASSWORD_POLICY`) and returns its PHC
   * string, `$argon2id$v=19$m=...,t=...,p=...$salt$hash`.
   */
  hash(password: string): Promise<string>;
  /**
   * Whether `password` matches `phc`. False, never an error, for a password over `maxBytes` (it
   * cannot have been set) or a stored string that is not a valid argon2 hash.
   */
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made with other parameters (or another algorithm) than the current ones. */
  needsRehash(phc: string): boolean;
}

const ARGON2ID = 2 as Algorithm;
const OUTPUT_BYTES = 32;

function positiveInteger(value: number | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new TesseraTypeError('ERR_INVALID_PASSWORD_OPTIONS', `${name} must be an integer from 1 to ${max}`);
  }
  return value;
}

/**
 * Passwords are compared after NFKC normalisation (NIST SP 800-63B 5.1.1.2), so the same
 * password typed on two keyboards that compose accents differently still matches. Nothing else
 * changes: no trimming, no case folding, no truncation.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const parameters: Argon2Parameters = Object.freeze({
    memoryCost: positiveInteger(
      options.memoryCost,
      'memoryCost',
      owaspArgon2Parameters.memoryCost,
      4_194_304,
    ),
    timeCost: positiveInteger(options.timeCost, 'timeCost', owaspArgon2Parameters.timeCost, 100),
    parallelism: positiveInteger(options.parallelism, 'parallelism', owaspArgon2Parameters.parallelism, 255),
  });
  if (parameters.memoryCost < 8 * parameters.parallelism) {
    throw new TesseraTypeError('ERR_INVALID_PASSWORD_OPTIONS', 'memoryCost must be at least 8 KiB per lane');
  }
  const minLength = positiveInteger(options.minLength, 'minLength', 8, 1024);
  const maxBytes = positiveInteger(options.maxBytes, 'maxBytes', 1024, 65_536);
  const argonOptions = { ...parameters, algorithm: ARGON2ID, outputLen: OUTPUT_BYTES };

  return Object.freeze({
    parameters,
    minLength,
    maxBytes,

    async hash(password: string): Promise<string> {
      if (typeof password !== 'string') {
        throw new IdentityError('ERR_PASSWORD_POLICY', 'password must be a string');
      }
      const normalized = normalizePassword(password);
      if ([...normalized].length < minLength) {
        throw new IdentityError('ERR_PASSWORD_POLICY', `password must have at least ${minLength} characters`);
      }
      if (Buffer.byteLength(normalized, 'utf8') > maxBytes) {
        throw new IdentityError('ERR_PASSWORD_POLICY', `password must be at most ${maxBytes} bytes (UTF-8)`);
      }
      return hash(normalized, argonOptions);
    },

    async verify(phc: string, password: string): Promise<boolean> {
      if (typeof phc !== 'string' || typeof password !== 'string') return false;
      const normalized = normalizePassword(password);
      if (Buffer.byteLength(normalized, 'utf8') > maxBytes) return false;
      try {
        // The parameters come from the PHC string itself, so old hashes keep verifying.
        return await verify(phc, normalized);
      } catch {
        return false;
      }
    },

    needsRehash(phc: string): boolean {
      try {
        const used = parseOptions(phc);
        return (
          used.algorithm !== ARGON2ID ||
          used.memoryCost !== parameters.memoryCost ||
          used.timeCost !== parameters.timeCost ||
          used.parallelism !== parameters.parallelism ||
          used.outputLen !== OUTPUT_BYTES
        );
      } catch {
        return true;
      }
    },
  });
}
