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

type ClaimType = 'string' | 'boolean' | 'address';

/** The scopes of OpenID Connect Core 5.4 that release standard claims. */
export type StandardClaimScope = 'profile' | 'email' | 'address' | 'phone';

// Each standard claim once, with its type and the scope that releases it (Core 5.1 and 5.4), in
// the order of Core 5.4. Validation and the token service's release by scope both read this.
const standardClaims: Readonly<Record<keyof UserClaims, readonly [ClaimType, StandardClaimScope]>> = {
  name: ['string', 'profile'],
  family_name: ['string', 'profile'],
  given_name: ['string', 'profile'],
  middle_name: ['string', 'profile'],
  nickname: ['string', 'profile'],
  preferred_username: ['string', 'profile'],
  profile: ['string', 'profile'],
  picture: ['string', 'profile'],
  website: ['string', 'profile'],
  gender: ['string', 'profile'],
  birthdate: ['string', 'profile'],
  zoneinfo: ['string', 'profile'],
  locale: ['string', 'profile'],
  email: ['string', 'email'],
  email_verified: ['boolean', 'email'],
  address: ['address', 'address'],
  phone_number: ['string', 'phone'],
  phone_number_verified: ['boolean', 'phone'],
};

function claimType(name: string): ClaimType | undefined {
  return Object.hasOwn(standardClaims, name) ? standardClaims[name as keyof UserClaims][0] : undefined;
}

function byScope(): Readonly<Record<StandardClaimScope, readonly string[]>> {
  const out: Record<StandardClaimScope, string[]> = { profile: [], email: [], address: [], phone: [] };
  for (const [name, [, scope]] of Object.entries(standardClaims)) out[scope].push(name);
  // `updated_at` is released with profile but is kept by the directory, not stored in the claims.
  out.profile.push('updated_at');
  return Object.freeze({
    profile: Object.freeze(out.profile),
    email: Object.freeze(out.email),
    address: Object.freeze(out.address),
    phone: Object.freeze(out.phone),
  });
}

/** OpenID Connect Core 5.4: the claims each standard scope releases. */
export const standardClaimsByScope = byScope();

/** The claims a scope releases; none for a scope that is not one of Core 5.4's. */
export function standardClaimsForScope(scope: string): readonly string[] {
  return Object.hasOwn(standardClaimsByScope, scope)
    ? standardClaimsByScope[scope as StandardClaimScope]
    : [];
}

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
  return new IdentityError('ERR_CLAIMS_INVALID', message);
}

/** Checks claims from a caller (seed file, CLI, admin API) and returns a frozen copy. */
export function validateClaims(claims: unknown): UserClaims {
  if (claims === undefined) return Object.freeze({});
  if (!isPlainObject(claims)) throw invalid('claims must be an object');
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) continue;
    const type = claimType(name);
    if (type === 'string') {
      if (typeof value !== 'string') throw invalid(`claim ${name} must be a string`);
      copy[name] = value;
    } else if (type === 'boolean') {
      if (typeof value !== 'boolean') throw invalid(`claim ${name} must be a boolean`);
      copy[name] = value;
    } else if (type === 'address') {
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
