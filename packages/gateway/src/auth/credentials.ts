import type { IncomingHttpHeaders } from 'node:http';
import { AuthError, findCookie } from '@tessera/core';

/** Whether a request target carries `access_token` in its query (RFC 6750 2.3, refused). */
export function hasAccessTokenInQuery(url: string): boolean {
  const q = url.indexOf('?');
  return q >= 0 && new URLSearchParams(url.slice(q + 1)).has('access_token');
}

function hasCookie(header: string | undefined, names: readonly string[]): boolean {
  return names.some((name) => findCookie(header, name).count > 0);
}

/**
 * One deterministic refusal for credentials sent ambiguously (docs/security.md F84, 85): a token in
 * the URL, or a session cookie together with an Authorization header. Either would leave the
 * gateway choosing which identity the request means.
 */
export function refuseAmbiguousCredentials(
  url: string,
  headers: IncomingHttpHeaders,
  sessionCookieNames: readonly string[],
): void {
  if (hasAccessTokenInQuery(url)) {
    throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'an access token in the URL is not accepted');
  }
  const cookie = typeof headers.cookie === 'string' ? headers.cookie : undefined;
  if (headers.authorization !== undefined && hasCookie(cookie, sessionCookieNames)) {
    throw new AuthError(
      'ERR_AUTH_INVALID_REQUEST',
      'send either a session cookie or a bearer token, not both',
    );
  }
}
