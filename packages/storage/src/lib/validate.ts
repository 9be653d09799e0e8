import { TesseraTypeError } from '@tessera/core';
import type { TtlOptions } from '../kv/types.js';

// Arguments come from the calling program, so a wrong one is a TesseraTypeError. Messages never
// echo the value: a key or value may embed a secret.

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TesseraTypeError('ERR_INVALID_STORE_KEY', 'a key must be a non-empty string');
  }
}

export function checkValue(value: unknown, name = 'value'): asserts value is string {
  if (typeof value !== 'string') {
    throw new TesseraTypeError('ERR_INVALID_VALUE', `${name} must be a string`);
  }
}

export function checkMembers(members: unknown): asserts members is readonly string[] {
  if (!Array.isArray(members) || !members.every((member) => typeof member === 'string')) {
    throw new TesseraTypeError('ERR_INVALID_VALUE', 'members must be an array of strings');
  }
}

/** The TTL in whole milliseconds, or undefined for "no expiry". */
export function checkTtl(options: TtlOptions | undefined): number | undefined {
  if (options === null || typeof options !== 'object' || !('ttlMs' in options)) {
    throw new TesseraTypeError(
      'ERR_INVALID_TTL',
      'options.ttlMs is required: a positive integer of milliseconds, or undefined for no expiry',
    );
  }
  const { ttlMs } = options;
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new TesseraTypeError('ERR_INVALID_TTL', 'options.ttlMs must be a positive integer of milliseconds');
  }
  return ttlMs;
}

/** A compareAndSet's arguments, the same in every store: the TTL of the write, as checkTtl gives it. */
export function checkCompareAndSet(
  expected: unknown,
  next: unknown,
  options: TtlOptions | undefined,
): number | undefined {
  if (expected !== null) checkValue(expected, 'expected');
  checkValue(next, 'next');
  return checkTtl(options);
}

export function checkIncrement(by: unknown): asserts by is number {
  if (typeof by !== 'number' || !Number.isSafeInteger(by)) {
    throw new TesseraTypeError('ERR_INVALID_INCREMENT', 'increment must be a safe integer');
  }
}

export function checkPrefix(prefix: unknown): string {
  if (prefix === undefined) return '';
  if (typeof prefix !== 'string') {
    throw new TesseraTypeError('ERR_INVALID_PREFIX', 'prefix must be a string');
  }
  return prefix;
}

export function checkInterval(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', `${name} must be a positive integer of milliseconds`);
  }
  return value;
}
