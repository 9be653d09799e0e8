import { isLoopbackHost } from '@tessera/core';

/**
 * Redirect URI rules (RFC 9700 2.1, 2.6; RFC 8252 7.3): absolute, no fragment, https or loopback
 * http; matched by exact string comparison, except that a loopback http URI may use any port at
 * /authorize (native apps get an ephemeral port).
 */

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/** Why a URI cannot be registered as a redirect URI, or undefined when it can. */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length > 2000) return 'is longer than 2000 characters';
  const url = parse(uri);
  if (url === undefined) return 'is not an absolute URI';
  if (uri.includes('#')) return 'has a fragment';
  if (url.username !== '' || url.password !== '') return 'contains credentials';
  if (url.protocol === 'https:') return undefined;
  if (isLoopbackHttp(url)) return undefined;
  if (url.protocol === 'http:')
    return 'uses http on a host that is not loopback (127.0.0.1, [::1], localhost)';
  return 'must use https, or http on a loopback host';
}

/**
 * Whether a redirect_uri sent to /authorize matches one of the registered ones: the exact string,
 * or, for a registered loopback http URI, the same URI with another port.
 */
export function matchRedirectUri(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const url = parse(requested);
  // Only the canonical form of a loopback URI is compared port-free, so no spelling trick
  // (a userinfo part, a dot segment, an encoded character) survives the parse.
  if (url === undefined || !isLoopbackHttp(url) || url.href !== requested) return false;
  const withoutPort = (u: URL): string => {
    const copy = new URL(u.href);
    copy.port = '';
    return copy.href;
  };
  const wanted = withoutPort(url);
  return registered.some((candidate) => {
    const reg = parse(candidate);
    return reg !== undefined && isLoopbackHttp(reg) && withoutPort(reg) === wanted;
  });
}
