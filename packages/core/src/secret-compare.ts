import { hash, timingSafeEqual } from 'node:crypto';

/**
 * Whether `given` equals `expected`, in time that depends on neither: both are hashed first, so
 * the comparison is of equal lengths and a wrong length tells nothing. For static bearer secrets
 * (the metrics token); secrets kept hashed have their own comparisons.
 */
export function secretEquals(given: string, expected: string): boolean {
  const a = hash('sha256', given, 'buffer');
  const b = hash('sha256', expected, 'buffer');
  return timingSafeEqual(a, b);
}
