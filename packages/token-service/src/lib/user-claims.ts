import { standardClaimsForScope, type User } from '@tessera/identity';

/** The user's standard claims that the granted scopes release (OIDC Core 5.4, @tessera/identity's table) (never `sub`, which callers set). */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const source: Record<string, unknown> = {
    ...user.claims,
    preferred_username: (user.claims as Record<string, unknown>).preferred_username ?? user.username,
    updated_at: Math.floor(user.updatedAt.getTime() / 1000),
  };
  const out: Record<string, unknown> = {};
  for (const scope of scopes) {
    for (const name of standardClaimsForScope(scope)) {
      if (source[name] !== undefined) out[name] = source[name];
    }
  }
  return out;
}
