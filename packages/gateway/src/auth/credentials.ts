import type { IncomingHttpHeaders } from 'node:http';
import { AuthError } from '@tessera/core';

/** Whether a request target carries `access_token` in its query (RFC 6750 2.3, refused). */
export function hasAccessTokenInQuery(url: string): boolean {
  const q = url.indexOf('?');
  return q >= 0 && new URLSearchParams(url.slice(q + 1)).has('access_token');
}

/**
 * The one value of the cookie `name`, or undefined when it is absent or sent more than once (a
 * tossed cookie is never chosen between).
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let found: string | undefined;
  let count = 0;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    count++;
    found = pair.slice(eq + 1).trim();
  }
  return count === 1 ? found : undefined;
}

function hasCookie(header: string | undefined, names: readonly string[]): boolean {
  if (header === undefined) return false;
  return header.split(';').some((pair) => {
    const eq = pair.indexOf('=');
    return eq >= 0 && names.includes(pair.slice(0, eq).trim());
  });
}

/**
 * One deterministic refusal for credentials sent ambiguously (SECURITY-CASES F 84, 85): a token in
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
