import type { IncomingHttpHeaders } from 'node:http';

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
 * Headers only the gateway may vouch for (SECURITY-CASES F 87): a client's own values are dropped
 * before anything is added, so a backend never mistakes them for the gateway's.
 */
const vouchedExact = new Set([
  'authorization',
  'cookie',
  'forwarded',
  'x-real-ip',
  'x-client-cert',
  'x-client-cert-chain',
  'x-client-verify',
  'x-client-dn',
]);
const vouchedPrefixes = ['x-user-', 'x-tessera-', 'x-forwarded-', 'x-ssl-', 'ssl-client-', 'proxy-'];

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

function isStrippedLowerCase(lower: string): boolean {
  return (
    hopByHop.has(lower) ||
    metHere.has(lower) ||
    vouchedExact.has(lower) ||
    vouchedPrefixes.some((p) => lower.startsWith(p))
  );
}

export interface ForwardedFor {
  /** The client address as the gateway saw it (or from a trusted proxy). */
  readonly address: string;
  readonly protocol: string;
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
  connection: string | string[] | undefined = incoming.connection,
): IncomingHttpHeaders {
  const named = connectionNamed(connection);
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

/** The upstream's response headers minus hop-by-hop ones (and those its Connection names). */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || hopByHop.has(lower) || named.has(lower)) continue;
    out[name] = value;
  }
  return out;
}
