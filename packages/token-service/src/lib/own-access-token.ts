import { createAccessTokenVerifier, type KeySource, type Principal, TokenError } from '@tessera/core';
import type { ServiceContext } from '../context.js';

/** Why a token presented back to the service (exchange, introspection, revocation) is not usable. */
export type OwnTokenFailure = 'invalid' | 'expired' | 'revoked' | 'audience';

export type OwnTokenResult =
  | { readonly ok: true; readonly principal: Principal }
  /** A revoked token is otherwise valid: its principal lets /revoke announce it again on a retry. */
  | { readonly ok: false; readonly reason: 'revoked'; readonly principal: Principal }
  | { readonly ok: false; readonly reason: Exclude<OwnTokenFailure, 'revoked'>; readonly code?: string };

const failed = (reason: Exclude<OwnTokenFailure, 'revoked'>, code?: string): OwnTokenResult =>
  code === undefined ? { ok: false, reason } : { ok: false, reason, code };

// The `aud` the token itself claims, read before verification only to give the verifier an
// audience to check against; authorization decisions use the verified principal, never this.
function claimedAudience(token: string): string[] | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0) return undefined;
  try {
    const payload = JSON.parse(
      Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'),
    ) as unknown;
    if (typeof payload !== 'object' || payload === null) return undefined;
    const aud = (payload as { aud?: unknown }).aud;
    const list = typeof aud === 'string' ? [aud] : aud;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    if (!list.every((member): member is string => typeof member === 'string' && member.length > 0))
      return undefined;
    return list;
  } catch {
    return undefined;
  }
}

/** The service's own keys as a KeySource that follows reloads and rotations. */
function keySource(ctx: ServiceContext): KeySource {
  return { get: (kid) => ctx.keys.keySet.get(kid) };
}

/**
 * Verifies an access token of this issuer with core's verifier against the service's own key set:
 * `typ: at+jwt`, an allowed asymmetric alg bound to a known kid, the signature, `iss` exactly the
 * issuer, `iat`/`nbf` (with core's clock tolerance), and `exp` strictly in the future (no tolerance:
 * the service shares its own clock, and "active" must not outlive `exp`); then the revocation list.
 * With `audience`, the token's `aud` must name one of them; without, any `aud` passes and the caller
 * decides (introspection). Refresh tokens (opaque), ID tokens (`typ: JWT`, RS256) and anything else
 * come back `invalid`.
 */
export async function verifyOwnAccessToken(
  ctx: ServiceContext,
  token: string,
  audience?: readonly string[],
): Promise<OwnTokenResult> {
  const expected = audience ?? claimedAudience(token);
  if (expected === undefined || expected.length === 0) return failed('invalid');
  let principal: Principal;
  try {
    principal = createAccessTokenVerifier({
      issuer: ctx.issuer,
      audience: expected,
      keys: keySource(ctx),
      algorithms: ctx.accessTokens.acceptedAlgorithms,
      now: ctx.now,
    }).verifySync(token);
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    if (error.code === 'ERR_JWT_EXPIRED') return failed('expired', error.code);
    if (error.code === 'ERR_JWT_AUDIENCE_INVALID') return failed('audience', error.code);
    return failed('invalid', error.code);
  }
  if (principal.expiresAt * 1000 <= ctx.now()) return failed('expired');
  if (await ctx.revocations.has(principal.tokenId)) return { ok: false, reason: 'revoked', principal };
  return { ok: true, principal };
}

/** Cheap shape test: a compact JWS has exactly two dots; our refresh tokens have none. */
export function looksLikeJwt(token: string): boolean {
  const first = token.indexOf('.');
  return first > 0 && token.indexOf('.', first + 1) > first && token.split('.').length === 3;
}
