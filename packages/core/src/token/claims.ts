import { BoundedCache } from '../bounded-cache.js';
import { TokenError } from '../errors/token.js';
import type { Actor, Principal, TokenBinding } from '../principal.js';

/** What the claims must match; resolved once per verifier. */
export interface ClaimExpectations {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** Seconds. */
  readonly clockTolerance: number;
}

// Nesting of act beyond this is not delegation but an attack on the stack or the reader.
const maxActDepth = 16;

function claimInvalid(name: string): TokenError {
  return new TokenError('ERR_JWT_CLAIM_INVALID', `the ${name} claim is missing or has the wrong type`);
}

function requiredString(claims: Readonly<Record<string, unknown>>, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value.length === 0) throw claimInvalid(name);
  return value;
}

function numericDate(claims: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw claimInvalid(name);
  return value;
}

/** The audience as a frozen list the principal can keep (a copy when the claim is an array). */
function audienceOf(aud: unknown): readonly string[] {
  if (typeof aud === 'string') return aud.length > 0 ? listOf(audienceLists, aud, alone) : none;
  if (!Array.isArray(aud) || aud.length === 0) throw claimInvalid('aud');
  for (const member of aud) if (typeof member !== 'string') throw claimInvalid('aud');
  return Object.freeze([...(aud as string[])]);
}

function accepts(expected: readonly string[], audience: readonly string[]): boolean {
  for (const aud of expected) if (audience.includes(aud)) return true;
  return false;
}

function actorsOf(act: unknown): readonly Actor[] {
  const actors: Actor[] = [];
  let current = act;
  while (current !== undefined) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) throw claimInvalid('act');
    if (actors.length === maxActDepth) throw claimInvalid('act');
    const record = current as Record<string, unknown>;
    const { sub, client_id: clientId, iss } = record;
    if (typeof sub !== 'string' || sub.length === 0) throw claimInvalid('act');
    if (clientId !== undefined && typeof clientId !== 'string') throw claimInvalid('act');
    if (iss !== undefined && typeof iss !== 'string') throw claimInvalid('act');
    const actor: { subject: string; clientId?: string; issuer?: string } = { subject: sub };
    if (clientId !== undefined) actor.clientId = clientId;
    if (iss !== undefined) actor.issuer = iss;
    actors.push(Object.freeze(actor));
    current = record.act;
  }
  return actors;
}

// A SHA-256 thumbprint, base64url: 43 characters.
const thumbprint = /^[A-Za-z0-9_-]{43}$/;

/**
 * `cnf` (RFC 7800 3.1) as this verifier understands it: exactly `{ jkt }` (RFC 9449 6.1) or
 * exactly `{ "x5t#S256" }` (RFC 8705 3.1). Any other confirmation method, or both at once, would
 * bind the token to something no check here looks at, so it is refused rather than read as unbound.
 */
function bindingOf(cnf: unknown): TokenBinding {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw claimInvalid('cnf');
  const keys = Object.keys(cnf);
  if (keys.length !== 1) throw claimInvalid('cnf');
  const { jkt, 'x5t#S256': x5tS256 } = cnf as { jkt?: unknown; 'x5t#S256'?: unknown };
  if (typeof jkt === 'string' && thumbprint.test(jkt)) return Object.freeze({ type: 'dpop', jkt });
  if (typeof x5tS256 === 'string' && thumbprint.test(x5tS256)) {
    return Object.freeze({ type: 'mtls', x5tS256 });
  }
  throw claimInvalid('cnf');
}

const none: readonly string[] = Object.freeze([]);
const noActors: readonly Actor[] = Object.freeze([]);

// Frozen string lists by the claim they came from. A client's tokens repeat its scope string and
// audience, so a list is split and frozen once, not per token; bounded, so a flood of distinct
// values costs no more memory than this.
const scopeLists = new BoundedCache<readonly string[]>({ max: 256 });
const audienceLists = new BoundedCache<readonly string[]>({ max: 256 });

function listOf(
  lists: BoundedCache<readonly string[]>,
  text: string,
  make: (text: string) => string[],
): readonly string[] {
  let list = lists.get(text);
  if (list === undefined) {
    list = Object.freeze(make(text));
    lists.set(text, list);
  }
  return list;
}

function splitScopes(scope: string): string[] {
  const scopes = scope.split(' ');
  // Only a sloppy issuer writes doubled or edge spaces.
  return scopes.includes('') ? scopes.filter(Boolean) : scopes;
}

function scopesOf(scope: string | undefined): readonly string[] {
  if (scope === undefined || scope === '') return none;
  return listOf(scopeLists, scope, splitScopes);
}

const alone = (aud: string): string[] => [aud];

/** Checks the claims of a token whose signature verified, and builds its Principal. */
export function principalOf(
  claims: Record<string, unknown>,
  expect: ClaimExpectations,
  nowSeconds: number,
): Principal {
  const tolerance = expect.clockTolerance;
  // exp <= now - tolerance is expired, as in jose: the token is valid strictly before exp.
  const exp = numericDate(claims, 'exp');
  if (exp === undefined) throw claimInvalid('exp');
  if (exp <= nowSeconds - tolerance) throw new TokenError('ERR_JWT_EXPIRED');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > nowSeconds + tolerance) throw new TokenError('ERR_JWT_NOT_YET_VALID');
  const iat = numericDate(claims, 'iat');
  if (iat === undefined) throw claimInvalid('iat');
  if (iat > nowSeconds + tolerance) throw new TokenError('ERR_JWT_NOT_YET_VALID');

  const iss = requiredString(claims, 'iss');
  if (iss !== expect.issuer) throw new TokenError('ERR_JWT_ISSUER_INVALID');
  if (claims.aud === undefined) throw claimInvalid('aud');
  const audience = audienceOf(claims.aud);
  if (!accepts(expect.audience, audience)) throw new TokenError('ERR_JWT_AUDIENCE_INVALID');

  const subject = requiredString(claims, 'sub');
  const clientId = requiredString(claims, 'client_id');
  const tokenId = requiredString(claims, 'jti');
  const { scope, sid, auth_time: authTime, act, cnf } = claims;
  if (scope !== undefined && typeof scope !== 'string') throw claimInvalid('scope');
  if (sid !== undefined && typeof sid !== 'string') throw claimInvalid('sid');
  if (authTime !== undefined && (typeof authTime !== 'number' || !Number.isFinite(authTime))) {
    throw claimInvalid('auth_time');
  }

  const principal: {
    -readonly [K in keyof Principal]: Principal[K];
  } = {
    subject,
    clientId,
    scopes: scopesOf(scope),
    audience,
    issuer: iss,
    tokenId,
    expiresAt: exp,
    issuedAt: iat,
    actors: act === undefined ? noActors : Object.freeze(actorsOf(act)),
    claims,
  };
  if (sid !== undefined) principal.sessionId = sid;
  if (authTime !== undefined) principal.authTime = authTime;
  if (cnf !== undefined) principal.binding = bindingOf(cnf);
  // Readonly by type, not frozen: Object.freeze of the principal and of its claims costs about 2 us
  // per call here, a large share of what verify adds to the signature check. Whoever shares one
  // Principal between requests (a verified-token cache) freezes it once: `freezePrincipal`.
  return principal;
}

/** Freezes a Principal and its claims, for a cache that hands one object to many requests. */
export function freezePrincipal(principal: Principal): Principal {
  deepFreeze(principal.claims);
  return Object.freeze(principal);
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
