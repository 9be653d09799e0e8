import type { KeyValueStore } from '@tessera/storage';
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { type Client, clientAssertionAlgorithms } from '../../store/client.js';
import { invalidClient } from '../oauth-error.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** An assertion may not be valid for longer than this ahead of now (replay window). */
const MAX_ASSERTION_LIFETIME_S = 300;
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

export interface AssertionCheck {
  readonly client: Client;
  readonly assertion: string;
  /** Accepted `aud` values: the token endpoint URL and the issuer. */
  readonly audiences: readonly string[];
  readonly store: KeyValueStore;
  /** Epoch ms. */
  readonly now: number;
}

/**
 * Verifies an RFC 7523 client assertion with the client's registered keys: signature with the
 * registered (or an allowed asymmetric) alg; iss = sub = client_id; aud one of ours; exp present
 * and at most five minutes ahead; jti present and never seen before (kept in the store until exp).
 */
export async function verifyClientAssertion(check: AssertionCheck): Promise<void> {
  const { client, assertion } = check;
  if (client.token_endpoint_auth_method !== 'private_key_jwt' || client.jwks === undefined) {
    throw invalidClient('the client does not authenticate with private_key_jwt');
  }
  const algorithms =
    client.token_endpoint_auth_signing_alg === undefined
      ? [...clientAssertionAlgorithms]
      : [client.token_endpoint_auth_signing_alg];
  const nowS = Math.floor(check.now / 1000);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
      algorithms,
      issuer: client.client_id,
      subject: client.client_id,
      audience: [...check.audiences],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      currentDate: new Date(check.now),
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) throw invalidClient('client assertion rejected');
    throw error;
  }
  const exp = payload.exp as number;
  if (exp > nowS + MAX_ASSERTION_LIFETIME_S + CLOCK_TOLERANCE_S) {
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
