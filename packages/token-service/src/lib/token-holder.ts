import { peerCertificateThumbprint, type VerifiedDpopProof } from '@tessera/core';
import type { FastifyRequest } from 'fastify';
import type { Client } from '../store/client.js';
import type { RefreshBinding } from '../store/grants.js';
import { OAuthError } from './oauth-error.js';

/**
 * Whom the tokens of one `/token` request are bound to: the key of its DPoP proof, the client
 * certificate of its TLS connection, or nobody. Every grant issues with it, so a binding is
 * decided once, before the grant runs.
 */
export interface TokenHolder {
  /** The access token's binding claims (`cnf.jkt` or `cnf.x5t#S256`), to spread into its claims. */
  readonly claims: { readonly dpopJkt?: string; readonly certificateThumbprint?: string };
  /** RFC 9449 5.1: `DPoP` for a DPoP-bound token; a certificate-bound one stays `Bearer` (RFC 8705 3). */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** What a new refresh token of a public client is bound to. */
  readonly refresh: RefreshBinding;
}

const unbound: TokenHolder = Object.freeze({ claims: {}, tokenType: 'Bearer', refresh: {} });

/**
 * The holder of a token request's tokens. A client registered
 * `tls_client_certificate_bound_access_tokens` (RFC 8705 3.4) gets tokens bound to the certificate
 * of the connection, and is refused (`invalid_request`) without one or with a DPoP proof too: a
 * token is bound to one holder. Otherwise a verified DPoP proof binds them to its key.
 */
export function tokenHolderOf(
  request: FastifyRequest,
  client: Client,
  dpop: VerifiedDpopProof | undefined,
): TokenHolder {
  if (client.tls_client_certificate_bound_access_tokens) {
    if (dpop !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'this client gets certificate-bound tokens: send no DPoP proof',
      );
    }
    const thumbprint = peerCertificateThumbprint(request.raw.socket);
    if (thumbprint === undefined) {
      throw new OAuthError(
        'invalid_request',
        'this client must present its certificate (tls_client_certificate_bound_access_tokens)',
      );
    }
    return Object.freeze({
      claims: { certificateThumbprint: thumbprint },
      tokenType: 'Bearer',
      refresh: { x5tS256: thumbprint },
    });
  }
  if (dpop === undefined) return unbound;
  return Object.freeze({ claims: { dpopJkt: dpop.jkt }, tokenType: 'DPoP', refresh: { dpopJkt: dpop.jkt } });
}
