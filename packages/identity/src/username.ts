import { IdentityError } from './errors.js';

/** Most characters (code points, after NFKC) a username may have. */
export const MAX_USERNAME_LENGTH = 64;

// No whitespace, separators, control, format, private-use or unassigned characters: what is left
// can be printed, compared and typed, and cannot hide a second name behind an invisible one.
const ALLOWED = /^[^\p{C}\p{Z}\s]+$/u;

/**
 * The key a username is looked up and kept unique by: NFKC (so fullwidth, ligature and
 * compatibility forms of one name collide) then lower case. `Alice`, `ALICE` and `Ａｌｉｃｅ` are
 * one user. The display form the user chose is kept beside it.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Checks a new username; returns the display form (NFKC) to store. */
export function validateUsername(username: unknown): string {
  if (typeof username !== 'string') {
    throw new IdentityError('ERR_USERNAME_INVALID', 'username must be a string');
  }
  const display = username.normalize('NFKC');
  const length = [...display].length;
  if (length === 0 || length > MAX_USERNAME_LENGTH) {
    throw new IdentityError(
      'ERR_USERNAME_INVALID',
      `username must have 1 to ${MAX_USERNAME_LENGTH} characters`,
    );
  }
  if (!ALLOWED.test(display)) {
    throw new IdentityError(
      'ERR_USERNAME_INVALID',
      'username must not contain whitespace, control or invisible characters',
    );
  }
  return display;
}

/** Whether a login attempt's username could name a user at all (login never says why not). */
export function isPlausibleUsername(username: string): boolean {
  const display = username.normalize('NFKC');
  const length = [...display].length;
  return length > 0 && length <= MAX_USERNAME_LENGTH && ALLOWED.test(display);
}
