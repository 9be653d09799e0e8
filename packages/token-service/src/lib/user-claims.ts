import type { User } from '@tessera/identity';

// OIDC Core 5.4: the claims each standard scope releases.
const CLAIMS_BY_SCOPE: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** The user's standard claims that the granted scopes release (never `sub`, which callers set). */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const source: Record<string, unknown> = {
    ...user.claims,
    preferred_username: (user.claims as Record<string, unknown>).preferred_username ?? user.username,
    updated_at: Math.floor(user.updatedAt.getTime() / 1000),
  };
  const out: Record<string, unknown> = {};
  for (const scope of scopes) {
    for (const name of CLAIMS_BY_SCOPE[scope] ?? []) {
      if (source[name] !== undefined) out[name] = source[name];
    }
  }
  return out;
}
