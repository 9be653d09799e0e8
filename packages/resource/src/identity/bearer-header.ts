import { AuthError, TokenError } from '@tessera/core';
import type { RequestLike } from './types.js';

// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const b64token = /^[A-Za-z0-9\-._~+/]+=*$/;
// The auth-scheme, then one or more spaces, then the credentials.
const authorization = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: +(.*))?$/s;
// The common case in one pass: `Bearer` in any case, spaces, one b64token. Anything else takes the
// general parse below, which tells a missing, foreign-scheme and malformed credential apart.
const wellFormedBearer = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)$/;

function countAuthorization(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    // Most names differ in length: skip the lower-casing (an allocation) for those.
    if (name?.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  return count;
}

function hasAccessTokenParameter(url: string | undefined): boolean {
  if (url === undefined) return false;
  const query = url.indexOf('?');
  if (query < 0) return false;
  return new URLSearchParams(url.slice(query + 1)).has('access_token');
}

function hasAccessTokenField(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token');
}

/**
 * The bearer token of a request, from its one Authorization header (RFC 6750 2.1), or an error:
 * - no Authorization header, or another scheme: ERR_AUTH_REQUIRED (401, no error attribute);
 * - the header twice, or `access_token` in the query or a form body (RFC 6750 2.2, 2.3 are not
 *   supported: tokens in URLs leak into logs): ERR_AUTH_INVALID_REQUEST (400);
 * - `Bearer` with nothing, several tokens, or characters outside b64token: ERR_JWT_MALFORMED (401).
 */
export function readBearerToken(request: RequestLike): string {
  checkBearerRequest(request);
  return bearerTokenOf(request.headers.authorization);
}

/** The checks of `readBearerToken` on the request as a whole: one Authorization header, no token elsewhere. */
export function checkBearerRequest(request: RequestLike): void {
  if (request.rawHeaders !== undefined && countAuthorization(request.rawHeaders) > 1) {
    throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'more than one Authorization header');
  }
  if (hasAccessTokenParameter(request.url)) {
    throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'an access token in the URL is not accepted');
  }
  if (hasAccessTokenField(request.body)) {
    throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'an access token in the body is not accepted');
  }
}

/**
 * The scheme and token of an Authorization header's value, for a source that takes several
 * schemes (`dpop`: Bearer and DPoP), with the errors of `bearerTokenOf`; the token is a b64token
 * (RFC 6750 2.1, the token68 of RFC 9449 7.1).
 */
export function credentialsOf<Scheme extends string>(
  header: string | undefined,
  schemes: readonly Scheme[],
): { scheme: Scheme; token: string } {
  if (header === undefined || header.length === 0) throw new AuthError('ERR_AUTH_REQUIRED', 'no credentials');
  const match = authorization.exec(header);
  if (match === null) throw new TokenError('ERR_JWT_MALFORMED', 'the Authorization header is malformed');
  const scheme = match[1]?.toLowerCase() as Scheme;
  if (!schemes.includes(scheme)) throw new AuthError('ERR_AUTH_REQUIRED', 'no credentials of this scheme');
  const token = match[2] ?? '';
  if (!b64token.test(token)) {
    throw new TokenError('ERR_JWT_MALFORMED', 'the Authorization header does not hold exactly one token');
  }
  return { scheme, token };
}

/** The bearer token of an Authorization header's value (the header checks of `readBearerToken`). */
export function bearerTokenOf(header: string | undefined): string {
  if (header === undefined || header.length === 0) {
    throw new AuthError('ERR_AUTH_REQUIRED', 'no credentials');
  }
  const fast = wellFormedBearer.exec(header);
  if (fast !== null) return fast[1] as string;
  const match = authorization.exec(header);
  if (match === null) throw new TokenError('ERR_JWT_MALFORMED', 'the Authorization header is malformed');
  if (match[1]?.toLowerCase() !== 'bearer') throw new AuthError('ERR_AUTH_REQUIRED', 'no bearer credentials');
  const token = match[2] ?? '';
  if (!b64token.test(token)) {
    throw new TokenError(
      'ERR_JWT_MALFORMED',
      'the Authorization header does not hold exactly one bearer token',
    );
  }
  return token;
}
