import { AuthError } from '../errors/auth.js';
import type { Principal } from '../principal.js';
import { type PeerCertificateSource, peerCertificateThumbprint } from './thumbprint.js';

/**
 * RFC 8705 3: a certificate-bound token (`cnf.x5t#S256`) is good only on a connection whose peer
 * certificate has that thumbprint. Throws an AuthError answered `invalid_token` (401) when the
 * connection has no client certificate or another one; a token with no certificate binding passes.
 */
export function checkCertificateBinding(
  principal: Principal,
  connection: PeerCertificateSource | undefined,
): void {
  const { binding } = principal;
  if (binding?.type !== 'mtls') return;
  const presented = peerCertificateThumbprint(connection);
  if (presented === undefined) throw new AuthError('ERR_MTLS_CERTIFICATE_REQUIRED');
  if (presented !== binding.x5tS256) throw new AuthError('ERR_MTLS_CERTIFICATE_MISMATCH');
}
