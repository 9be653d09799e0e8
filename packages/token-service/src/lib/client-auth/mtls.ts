import { createPublicKey, type X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import type { Client, TlsClientAuthSubject } from '../../store/client.js';
import { invalidClient } from '../oauth-error.js';

/** What a TLS socket tells of its peer: the certificate, and whether it chained to our anchors. */
interface TlsPeer {
  readonly getPeerX509Certificate?: () => X509Certificate | undefined;
  readonly authorized?: boolean;
}

/** The client certificate of the request's TLS connection, if it presented one. */
export function clientCertificateOf(request: FastifyRequest): X509Certificate | undefined {
  return (request.raw.socket as TlsPeer).getPeerX509Certificate?.();
}

/**
 * RFC 4514 distinguished name as a list of `type=value` RDNs, most significant first (the order a
 * certificate encodes them in, and the reverse of how RFC 4514 writes them). Attribute types are
 * compared case-insensitively, values as written after unescaping; a multi-valued RDN (`+`) is
 * kept as one string.
 */
function rdnsOfRfc4514(dn: string): string[] {
  const rdns: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const char = dn[i] as string;
    if (char === '\\' && i + 1 < dn.length) {
      current += dn[++i];
    } else if (char === ',') {
      rdns.push(current);
      current = '';
    } else current += char;
  }
  rdns.push(current);
  return rdns.map(normalizeRdn).reverse();
}

function normalizeRdn(rdn: string): string {
  const equals = rdn.indexOf('=');
  if (equals < 0) return rdn.trim();
  return `${rdn.slice(0, equals).trim().toUpperCase()}=${rdn.slice(equals + 1).trim()}`;
}

/**
 * Node prints a subject one RDN a line, in the certificate's order, escaping RFC 4514's special
 * characters with a backslash: unescaped here as the registered DN is.
 */
function rdnsOfCertificate(certificate: X509Certificate): string[] {
  return certificate.subject.split('\n').map((rdn) => normalizeRdn(rdn.replace(/\\(.)/g, '$1')));
}

/**
 * The subjectAltName entries of a certificate by kind. Node writes them `DNS:a, URI:b, IP
 * Address:c, email:d`, and quotes (as JSON) any value that would make that ambiguous.
 */
function alternativeNames(certificate: X509Certificate): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const text = certificate.subjectAltName;
  if (text === undefined) return names;
  const entry = /(DNS|URI|IP Address|email):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  for (const match of text.matchAll(entry)) {
    const kind = match[1] as string;
    const raw = match[2] as string;
    const value = raw.startsWith('"') ? quoted(raw) : raw;
    // An entry that cannot be read counts as none: it matches nothing registered.
    if (value !== undefined) names.set(kind, [...(names.get(kind) ?? []), value]);
  }
  return names;
}

function quoted(raw: string): string | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** An IP address in one spelling: IPv6 compressed and in lower case, as the URL parser writes it. */
function canonicalIp(ip: string): string | undefined {
  const version = isIP(ip);
  if (version === 4) return ip;
  if (version === 6) return new URL(`http://[${ip}]/`).hostname;
  return undefined;
}

function subjectMatches(certificate: X509Certificate, subject: TlsClientAuthSubject): boolean {
  const { field, value } = subject;
  if (field === 'tls_client_auth_subject_dn') {
    const expected = rdnsOfRfc4514(value);
    const actual = rdnsOfCertificate(certificate);
    return expected.length === actual.length && expected.every((rdn, i) => rdn === actual[i]);
  }
  const names = alternativeNames(certificate);
  if (field === 'tls_client_auth_san_dns') {
    return (names.get('DNS') ?? []).some((name) => name.toLowerCase() === value.toLowerCase());
  }
  if (field === 'tls_client_auth_san_uri') return (names.get('URI') ?? []).includes(value);
  if (field === 'tls_client_auth_san_email') return (names.get('email') ?? []).includes(value);
  const expected = canonicalIp(value);
  return (
    expected !== undefined && (names.get('IP Address') ?? []).some((name) => canonicalIp(name) === expected)
  );
}

function withinValidity(certificate: X509Certificate, nowMs: number): boolean {
  return Date.parse(certificate.validFrom) <= nowMs && nowMs <= Date.parse(certificate.validTo);
}

/**
 * RFC 8705 2.1, PKI: the request's certificate chained to the configured trust anchors (checked
 * by the TLS handshake: every listener that asks for a certificate is given its `clientCa`, so
 * `authorized` never means a public CA) and carries the registered subject. Every failure is the
 * same `invalid_client`, so a probe learns nothing of what was registered.
 */
export function checkTlsClientAuth(client: Client, request: FastifyRequest): void {
  const certificate = clientCertificateOf(request);
  const socket = request.raw.socket as TlsPeer;
  if (
    certificate === undefined ||
    socket.authorized !== true ||
    client.tls_client_auth_subject === undefined ||
    !subjectMatches(certificate, client.tls_client_auth_subject)
  ) {
    throw invalidClient();
  }
}

function sameKey(certificate: X509Certificate, jwk: Record<string, unknown>): boolean {
  try {
    const registered = createPublicKey({ key: jwk as never, format: 'jwk' });
    return certificate.publicKey.equals(registered);
  } catch {
    return false;
  }
}

function sameCertificate(certificate: X509Certificate, jwk: Record<string, unknown>): boolean {
  const first = Array.isArray(jwk.x5c) ? jwk.x5c[0] : undefined;
  return typeof first === 'string' && Buffer.from(first, 'base64').equals(certificate.raw);
}

/**
 * RFC 8705 2.2, self-signed: the request's certificate is one the client registered in its
 * `jwks`, by the first certificate of a key's `x5c`, or else by the public key itself. No chain
 * is checked (the certificate is its own anchor); its validity period is.
 */
export function checkSelfSignedTlsClientAuth(
  ctx: ServiceContext,
  client: Client,
  request: FastifyRequest,
): void {
  const certificate = clientCertificateOf(request);
  const keys = (client.jwks?.keys ?? []) as readonly Record<string, unknown>[];
  if (
    certificate === undefined ||
    !withinValidity(certificate, ctx.now()) ||
    !keys.some((key) =>
      key.x5c === undefined ? sameKey(certificate, key) : sameCertificate(certificate, key),
    )
  ) {
    throw invalidClient();
  }
}
