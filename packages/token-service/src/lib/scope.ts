import { isScopeToken } from '@tessera/core';
import { OAuthError } from './oauth-error.js';

// RFC 6749 3.3: scope-tokens (core's rule) joined by single spaces; ours at most 256 long each.

export function isBoundedScopeToken(value: string): boolean {
  return value.length <= 256 && isScopeToken(value);
}

/**
 * Splits a `scope` parameter into its tokens, without duplicates, in the order given; undefined
 * when it breaks the grammar (empty tokens from doubled or edge spaces, forbidden characters).
 */
export function parseScope(value: string): string[] | undefined {
  const tokens = value.split(' ');
  const out: string[] = [];
  for (const token of tokens) {
    if (!isBoundedScopeToken(token)) return undefined;
    if (!out.includes(token)) out.push(token);
  }
  return out;
}

/**
 * The scopes a token gets: the requested ones (each must be among `allowed`), or all of `allowed`
 * when none is requested. Throws invalid_scope on a grammar error or a scope beyond `allowed`.
 */
export function resolveScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  const scopes = parseScope(requested);
  if (scopes === undefined) throw new OAuthError('invalid_scope', 'scope is malformed');
  for (const scope of scopes) {
    if (!allowed.includes(scope)) throw new OAuthError('invalid_scope', 'a requested scope is not permitted');
  }
  return scopes;
}
