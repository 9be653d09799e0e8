import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 7.6.1: meaningful for one connection only, never forwarded. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Expectations the gateway meets itself: Node answers `Expect: 100-continue` before the body is
 * read, and the upstream gets the whole body at once (undici refuses the header outright).
 */
const metHere = new Set(['expect']);

/**
 * Headers only the gateway may vouch for (docs/security.md F87): a client's own values are dropped
 * before anything is added, so a backend never mistakes them for the gateway's.
 */
const vouchedExact = new Set([
  'authorization',
  // A client's DPoP proof is for the URL it addressed here, never the upstream's; the gateway
  // signs its own (RFC 9449 7.1) for the token it sends on.
  'dpop',
  'cookie',
  'forwarded',
  'x-real-ip',
  'x-client-cert',
  'x-client-cert-chain',
  'x-client-verify',
  'x-client-dn',
]);
const vouchedPrefixes = ['x-user-', 'x-tessera-', 'x-forwarded-', 'x-ssl-', 'ssl-client-', 'proxy-'];

/**
 * Headers some frameworks read as the request's real target or method: a client's would route
 * around the gateway's path-based decisions (a public prefix with an admin URL inside).
 */
const rewrites = new Set([
  'x-original-url',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

const noNames: ReadonlySet<string> = new Set();

function connectionNamed(value: string | string[] | undefined): ReadonlySet<string> {
  // The common case, `keep-alive` or nothing, names no header (runs twice per proxied request).
  if (value === undefined || value === 'keep-alive' || value === 'close') return noNames;
  const names = new Set<string>();
  for (const part of typeof value === 'string' ? [value] : value) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name.length > 0) names.add(name);
    }
  }
  return names;
}

/** Whether a request header from the client must not reach an upstream. */
export function isStrippedRequestHeader(name: string): boolean {
  return isStrippedLowerCase(name.toLowerCase());
}

/** Every name stripped outright, in one set: one lookup per header instead of four. */
const strippedExact: ReadonlySet<string> = new Set([...hopByHop, ...metHere, ...vouchedExact, ...rewrites]);

/**
 * The first characters of the vouched prefixes (`x`, `s`, `p`): most headers (`host`, `accept`,
 * `user-agent`) start with none of them and skip the prefix comparisons.
 */
const prefixStarts: ReadonlySet<number> = new Set(vouchedPrefixes.map((p) => p.charCodeAt(0)));

function hasVouchedPrefix(lower: string): boolean {
  if (!prefixStarts.has(lower.charCodeAt(0))) return false;
  for (const prefix of vouchedPrefixes) if (lower.startsWith(prefix)) return true;
  return false;
}

function isStrippedLowerCase(lower: string): boolean {
  if (strippedExact.has(lower) || hasVouchedPrefix(lower)) return true;
  // Many servers (CGI, WSGI, some proxies) read `_` as `-`: `X_User_Id` would arrive as X-User-Id.
  return lower.includes('_') && isStrippedLowerCase(lower.replaceAll('_', '-'));
}

export interface ForwardedFor {
  /** The client address as the gateway saw it (or from a trusted proxy). */
  readonly address: string;
  readonly protocol: string;
  /** The configured public host (`publicOrigin`), never the client's `Host`; undefined: none sent. */
  readonly host: string | undefined;
}

/**
 * The headers an upstream gets: the client's minus hop-by-hop headers (and those Connection names),
 * minus every header the gateway vouches for, plus `X-Forwarded-For/Proto/Host` set by the gateway
 * and `added` (the credential the gateway vouches for on this route).
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  forwarded: ForwardedFor,
  added: Readonly<Record<string, string>>,
): IncomingHttpHeaders {
  const named = connectionNamed(incoming.connection);
  const out: IncomingHttpHeaders = {};
  // Node's parser gives header names in lower case already.
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || named.has(name) || isStrippedLowerCase(name)) continue;
    out[name] = value;
  }
  out['x-forwarded-for'] = forwarded.address;
  out['x-forwarded-proto'] = forwarded.protocol;
  if (forwarded.host !== undefined) out['x-forwarded-host'] = forwarded.host;
  for (const [name, value] of Object.entries(added)) out[name.toLowerCase()] = value;
  return out;
}

export interface ResponseRules {
  /** The gateway's own cookie names, lower case: an upstream never sets them. */
  readonly ownCookies: ReadonlySet<string>;
  /** A route that needs a credential: its answers are private to the user. */
  readonly authenticated: boolean;
}

/** The cookie name a Set-Cookie value sets, lower case. */
function cookieNameOf(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq < 0 ? setCookie : setCookie.slice(0, eq)).trim().toLowerCase();
}

/**
 * The upstream's response headers minus hop-by-hop ones (and those its Connection names), minus
 * any Set-Cookie for one of the gateway's own cookies (an upstream planting a session would fix
 * the user's session), and, on an authenticated route, `Cache-Control: private, no-store` when the
 * upstream said nothing about caching (a shared cache must not keep one user's answer for another).
 */
export function downstreamResponseHeaders(
  headers: IncomingHttpHeaders,
  rules: ResponseRules,
): IncomingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: IncomingHttpHeaders = {};
  let cacheControl = false;
  for (const name in headers) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || hopByHop.has(lower) || named.has(lower)) continue;
    if (lower === 'set-cookie') {
      const kept = (typeof value === 'string' ? [value] : value).filter(
        (cookie) => !rules.ownCookies.has(cookieNameOf(cookie)),
      );
      if (kept.length > 0) out[name] = kept;
      continue;
    }
    if (lower === 'cache-control') cacheControl = true;
    out[name] = value;
  }
  if (rules.authenticated && !cacheControl) out['cache-control'] = 'private, no-store';
  return out;
}

/** Headers set on a reply: Fastify's `reply.getHeaders()`. */
export type ReplyHeaders = Readonly<Record<string, number | string | string[] | undefined>>;

function isEmpty(headers: ReplyHeaders): boolean {
  for (const _ in headers) return false;
  return true;
}

/**
 * The answer's headers: those the gateway set on the reply itself (a session's renewed cookie)
 * joined to the upstream's, cleaned. Both Set-Cookie lists are kept, the gateway's first; for any
 * other header the upstream's value stands, as the author of the answer.
 */
export function withOwnHeaders(own: ReplyHeaders, upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  if (isEmpty(own)) return upstream;
  const out: OutgoingHttpHeaders = { ...own, ...upstream };
  const ownCookies = own['set-cookie'];
  const upstreamCookies = upstream['set-cookie'];
  if (ownCookies !== undefined && upstreamCookies !== undefined) {
    out['set-cookie'] = [
      ...(Array.isArray(ownCookies) ? ownCookies : [String(ownCookies)]),
      ...upstreamCookies,
    ];
  }
  return out;
}
