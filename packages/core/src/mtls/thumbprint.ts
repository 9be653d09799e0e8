import { X509Certificate } from 'node:crypto';
import { sha256Base64url } from '../digest.js';

/**
 * A connection that may carry a client certificate: Node's `TLSSocket` (what `request.socket` is
 * on an HTTPS server). A plain socket has no such method and so no certificate.
 */
// `object &`: a plain `net.Socket`, which lacks the method, is a source too (with no certificate).
export type PeerCertificateSource = object & {
  readonly getPeerX509Certificate?: () => X509Certificate | undefined;
};

/** RFC 8705 3.1: the `x5t#S256` of a certificate, the SHA-256 of its DER encoding, base64url. */
export function certificateThumbprint(certificate: X509Certificate | Uint8Array): string {
  const der = certificate instanceof X509Certificate ? certificate.raw : certificate;
  return sha256Base64url(der);
}

/**
 * The `x5t#S256` of the certificate the peer of `connection` presented in its TLS handshake, or
 * undefined on a connection without one (plain HTTP, or TLS without a client certificate).
 */
export function peerCertificateThumbprint(connection: PeerCertificateSource | undefined): string | undefined {
  const certificate = connection?.getPeerX509Certificate?.();
  return certificate === undefined ? undefined : certificateThumbprint(certificate);
}
