import type { KeyValueStore } from '@tessera/storage';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, errors as joseErrors, jwtVerify } from 'jose';
import { type Client, clientAssertionAlgorithms } from '../../store/client.js';
import { invalidClient, OAuthError } from '../oauth-error.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const CLOCK_TOLERANCE_S = 5;
const MAX_ASSERTION_LENGTH = 8192;

/** The `sub` (= `iss`) of an assertion, read without verifying it, to find the client. */
export function assertionSubject(assertion: string): string {
  if (assertion.length > MAX_ASSERTION_LENGTH) throw invalidClient('client assertion too large');
  try {
    const { sub, iss } = decodeJwt(assertion);
    if (typeof sub !== 'string' || sub.length === 0) throw invalidClient('client assertion has no sub');
    if (iss !== sub) throw invalidClient('client assertion iss must equal sub');
    return sub;
  } catch (error) {
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError) {
      throw invalidClient('malformed client assertion');
    }
    throw error;
  }
}

const EDDSA_NAMES: readonly string[] = ['EdDSA', 'Ed25519'];

/** The registered algorithm (with its other name, for EdDSA), or every allowed one. */
function allowedAlgorithms(client: Client): string[] {
  const registered = client.token_endpoint_auth_signing_alg;
  if (registered === undefined) return [...clientAssertionAlgorithms];
  return EDDSA_NAMES.includes(registered) ? [...EDDSA_NAMES] : [registered];
}

/**
 * jose only picks a JWK whose `alg` equals the header's; an Ed25519 key registered as `EdDSA`
 * must also verify an `Ed25519` header, so that one pinned name is dropped (the algorithm is
 * still enforced by `algorithms` and by the key type).
 */
function normalizeJwks(jwks: JSONWebKeySet): JSONWebKeySet {
  return {
    keys: jwks.keys.map((key) => {
      if (key.kty === 'OKP' && typeof key.alg === 'string' && EDDSA_NAMES.includes(key.alg)) {
        const { alg: _alg, ...rest } = key;
        return rest;
      }
      return key;
    }),
  };
}

export interface AssertionCheck {
  readonly client: Client;
  readonly assertion: string;
  /** Accepted `aud` values: the token endpoint URL and the issuer. */
  readonly audiences: readonly string[];
  readonly store: KeyValueStore;
  /** Epoch ms. */
  readonly now: number;
  /** Seconds: how far ahead of now `exp` may be (the option `clientAssertionMaxLifetime`). */
  readonly maxLifetime: number;
}

/**
 * Verifies an RFC 7523 client assertion with the client's registered keys: signature with the
 * registered (or an allowed asymmetric) alg; iss = sub = client_id; aud one of ours; exp present
 * and at most `maxLifetime` ahead (plus the clock tolerance); jti present and never seen before,
 * kept in the store until exp (so a longer allowed lifetime is a longer-remembered jti, never a
 * replay window).
 */
export async function verifyClientAssertion(check: AssertionCheck): Promise<void> {
  const { client, assertion } = check;
  if (client.token_endpoint_auth_method !== 'private_key_jwt' || client.jwks === undefined) {
    throw invalidClient('the client does not authenticate with private_key_jwt');
  }
  const algorithms = allowedAlgorithms(client);
  const nowS = Math.floor(check.now / 1000);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(normalizeJwks(client.jwks)), {
      algorithms,
      issuer: client.client_id,
      subject: client.client_id,
      audience: [...check.audiences],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      currentDate: new Date(check.now),
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) {
      throw new OAuthError('invalid_client', 'client assertion rejected', { cause: error });
    }
    throw error;
  }
  const exp = payload.exp as number;
  if (exp > nowS + check.maxLifetime + CLOCK_TOLERANCE_S) {
    throw invalidClient('client assertion lifetime too long');
  }
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw invalidClient('client assertion jti invalid');
  }
  // Single use: remembered until the assertion expires, by which time it is refused anyway.
  const ttlMs = Math.max(1000, (exp + CLOCK_TOLERANCE_S) * 1000 - check.now);
  const fresh = await check.store.compareAndSet(
    `pkjwt:${encodeURIComponent(client.client_id)}:${jti}`,
    null,
    '1',
    { ttlMs },
  );
  if (!fresh) throw invalidClient('client assertion already used');
}
