import { isLoopbackHost } from '../loopback.js';
import type { HttpRequestInfo } from './request-info.js';

/** What a Cookie header says about one cookie name. */
export interface CookieLookup {
  /** How many cookies of that name the header carries (two or more: cookie tossing). */
  readonly count: number;
  /** The value when exactly one was found. */
  readonly value: string | undefined;
}

const none: CookieLookup = { count: 0, value: undefined };

/**
 * Finds `name` in a Cookie header without building a map of every cookie (this runs on every
 * request). Values are taken verbatim, unquoted and undecoded: our ids are base64url, so any
 * quoting or escaping means the cookie is not ours.
 */
export function findCookie(header: string | undefined, name: string): CookieLookup {
  if (header === undefined || header.length === 0) return none;
  let count = 0;
  let value: string | undefined;
  let from = 0;
  for (;;) {
    const at = header.indexOf(name, from);
    if (at === -1) break;
    from = at + name.length;
    if (!startsPair(header, at) || header.charCodeAt(from) !== 61 /* = */) continue;
    const end = header.indexOf(';', from + 1);
    const raw = header.slice(from + 1, end === -1 ? undefined : end).trim();
    count++;
    value = raw;
  }
  return count === 1 ? { count, value } : { count, value: undefined };
}

function startsPair(header: string, at: number): boolean {
  for (let i = at - 1; i >= 0; i--) {
    const c = header.charCodeAt(i);
    if (c === 32 || c === 9) continue;
    return c === 59; /* ; */
  }
  return true;
}

export type SameSite = 'Strict' | 'Lax' | 'None';

export interface CookieAttributes {
  readonly secure: boolean;
  readonly sameSite: SameSite;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAgeSeconds: number;
}

/** A Set-Cookie value with the attributes a session cookie always has: Path=/ and HttpOnly. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  const secure = attributes.secure ? '; Secure' : '';
  return `${name}=${value}; Path=/; Max-Age=${attributes.maxAgeSeconds}; HttpOnly${secure}; SameSite=${attributes.sameSite}`;
}

function hostName(host: string): string {
  const bracket = host.startsWith('[') ? host.indexOf(']') + 1 : 0;
  const colon = host.indexOf(':', bracket);
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

/**
 * Whether this request gets the development relaxation of the cookie rules (no Secure, no
 * `__Host-` prefix): only when `insecureHttpLocalhost` is on and the request is plain http to a
 * loopback name, so a deployment that forgot the option on still sends Secure cookies to every
 * real host. The session's cookie and the cookies set beside it (a sign-in's) follow the same rule.
 */
export function relaxedCookies(
  options: { readonly insecureHttpLocalhost: boolean },
  request: Pick<HttpRequestInfo, 'protocol' | 'host'>,
): boolean {
  return (
    options.insecureHttpLocalhost &&
    request.protocol === 'http' &&
    request.host !== undefined &&
    isLoopbackHost(hostName(request.host))
  );
}
