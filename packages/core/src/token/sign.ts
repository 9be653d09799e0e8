import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { TesseraTypeError } from '../errors/base.js';
import type { SigningAlgorithm } from '../keys/algorithms.js';
import { KeySet } from '../keys/key-set.js';
import type { SigningKey } from '../keys/signing-key.js';
import type { Actor } from '../principal.js';

/** What an access token says, in the words of {@link Principal}. */
export interface AccessTokenClaims {
  readonly subject: string;
  readonly clientId: string;
  readonly audience: string | readonly string[];
  readonly scopes?: readonly string[];
  readonly sessionId?: string;
  /** Epoch seconds. */
  readonly authTime?: number;
  /** The delegation chain, current actor first; written as nested `act` (RFC 8693 4.1). */
  readonly actors?: readonly Actor[];
}

export interface SignAccessTokenOptions {
  readonly issuer: string;
  /** Seconds. Default 300 (DESIGN.md). */
  readonly lifetime?: number;
  /** Which active key of a key set signs. Default EdDSA. */
  readonly alg?: SigningAlgorithm;
  /** Clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
}

export const defaultAccessTokenLifetime = 300;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_CLAIM', message);
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw misuse(`${name} must be a non-empty string`);
  return value;
}

function actClaim(actors: readonly Actor[]): Record<string, unknown> | undefined {
  let act: Record<string, unknown> | undefined;
  // Built from the innermost (earliest) actor outwards, so the outermost act is the current actor.
  for (let i = actors.length - 1; i >= 0; i--) {
    const actor = actors[i] as Actor;
    const next: Record<string, unknown> = { sub: nonEmpty('actor subject', actor.subject) };
    if (actor.clientId !== undefined) next.client_id = nonEmpty('actor clientId', actor.clientId);
    if (actor.issuer !== undefined) next.iss = nonEmpty('actor issuer', actor.issuer);
    if (act !== undefined) next.act = act;
    act = next;
  }
  return act;
}

function payloadOf(claims: AccessTokenClaims): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    sub: nonEmpty('subject', claims.subject),
    client_id: nonEmpty('clientId', claims.clientId),
  };
  const audience = typeof claims.audience === 'string' ? [claims.audience] : [...claims.audience];
  if (audience.length === 0) throw misuse('audience must not be empty');
  for (const aud of audience) nonEmpty('audience', aud);
  if (claims.scopes !== undefined) {
    for (const scope of claims.scopes) {
      if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) throw misuse('a scope must be an RFC 6749 scope-token');
    }
    payload.scope = claims.scopes.join(' ');
  }
  if (claims.sessionId !== undefined) payload.sid = nonEmpty('sessionId', claims.sessionId);
  if (claims.authTime !== undefined) {
    if (!Number.isSafeInteger(claims.authTime)) throw misuse('authTime must be epoch seconds');
    payload.auth_time = claims.authTime;
  }
  const act = claims.actors === undefined ? undefined : actClaim(claims.actors);
  if (act !== undefined) payload.act = act;
  payload.aud = audience.length === 1 ? audience[0] : audience;
  return payload;
}

/**
 * Signs an RFC 9068 access token with the active key of a key set (or the key given): header
 * `typ: at+jwt`, the key's alg and kid; claims iss, sub, aud, exp, iat, jti (128 random bits),
 * client_id, and scope, sid, auth_time, act when given.
 */
export async function signAccessToken(
  signer: KeySet | SigningKey,
  claims: AccessTokenClaims,
  options: SignAccessTokenOptions,
): Promise<string> {
  const key = signer instanceof KeySet ? signer.activeKey(options.alg ?? 'EdDSA') : signer;
  const issuer = nonEmpty('issuer', options.issuer);
  const lifetime = options.lifetime ?? defaultAccessTokenLifetime;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'lifetime must be a positive whole number of seconds');
  }
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  return new SignJWT(payloadOf(claims))
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
    .setIssuer(issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key.privateKey);
}
