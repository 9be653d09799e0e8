import { IdentityError } from './errors.js';

/** The address claim of OpenID Connect Core 5.1.1. */
export interface AddressClaim {
  readonly formatted?: string;
  readonly street_address?: string;
  readonly locality?: string;
  readonly region?: string;
  readonly postal_code?: string;
  readonly country?: string;
}

/**
 * A user's profile as OpenID Connect standard claims (Core 5.1), minus `sub` (the user id) and
 * `updated_at` (the directory keeps it). Only these are accepted, so what the token service puts
 * into an ID token or `/userinfo` is always a claim a client knows.
 */
export interface UserClaims {
  readonly name?: string;
  readonly given_name?: string;
  readonly family_name?: string;
  readonly middle_name?: string;
  readonly nickname?: string;
  readonly preferred_username?: string;
  readonly profile?: string;
  readonly picture?: string;
  readonly website?: string;
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly gender?: string;
  readonly birthdate?: string;
  readonly zoneinfo?: string;
  readonly locale?: string;
  readonly phone_number?: string;
  readonly phone_number_verified?: boolean;
  readonly address?: AddressClaim;
}

const stringClaims = new Set([
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'email',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'phone_number',
]);
const booleanClaims = new Set(['email_verified', 'phone_number_verified']);
const addressFields = new Set([
  'formatted',
  'street_address',
  'locality',
  'region',
  'postal_code',
  'country',
]);

/** Largest claims object, as JSON, in bytes. */
export const MAX_CLAIMS_BYTES = 4096;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function invalid(message: string): IdentityError {
  return new IdentityError('invalid_claims', message);
}

/** Checks claims from a caller (seed file, CLI, admin API) and returns a frozen copy. */
export function validateClaims(claims: unknown): UserClaims {
  if (claims === undefined) return Object.freeze({});
  if (!isPlainObject(claims)) throw invalid('claims must be an object');
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) continue;
    if (stringClaims.has(name)) {
      if (typeof value !== 'string') throw invalid(`claim ${name} must be a string`);
      copy[name] = value;
    } else if (booleanClaims.has(name)) {
      if (typeof value !== 'boolean') throw invalid(`claim ${name} must be a boolean`);
      copy[name] = value;
    } else if (name === 'address') {
      copy[name] = validateAddress(value);
    } else {
      // The name is echoed only if it is short and printable: it may come from a file or a request.
      const shown = /^[\w.:-]{1,64}$/.test(name) ? name : '(unprintable name)';
      throw invalid(`claim ${shown} is not an OpenID Connect standard claim`);
    }
  }
  if (Buffer.byteLength(JSON.stringify(copy), 'utf8') > MAX_CLAIMS_BYTES) {
    throw invalid(`claims must be at most ${MAX_CLAIMS_BYTES} bytes as JSON`);
  }
  return Object.freeze(copy) as UserClaims;
}

function validateAddress(value: unknown): AddressClaim {
  if (!isPlainObject(value)) throw invalid('claim address must be an object');
  const copy: Record<string, string> = {};
  for (const [field, part] of Object.entries(value)) {
    if (part === undefined) continue;
    if (!addressFields.has(field)) throw invalid('claim address has a field that is not standard');
    if (typeof part !== 'string') throw invalid(`claim address.${field} must be a string`);
    copy[field] = part;
  }
  return Object.freeze(copy);
}

/** Reads claims back from the database; a row written by this package always parses. */
export function parseStoredClaims(text: string): UserClaims {
  const parsed: unknown = JSON.parse(text);
  return validateClaims(parsed);
}
