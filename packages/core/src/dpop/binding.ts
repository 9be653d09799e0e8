import { DpopError } from '../errors/dpop.js';
import { checkCertificateBinding } from '../mtls/binding.js';
import type { PeerCertificateSource } from '../mtls/thumbprint.js';
import type { Principal } from '../principal.js';
import type { VerifiedDpopProof } from './verify.js';

/**
 * RFC 9449 7: a token sent under the `DPoP` scheme must be bound to a DPoP key (`cnf.jkt`), and to
 * the key that signed the request's proof. Throws a DpopError answered `invalid_token`.
 */
export function checkDpopBinding(principal: Principal, proof: VerifiedDpopProof): void {
  const { binding } = principal;
  if (binding?.type !== 'dpop') throw new DpopError('ERR_DPOP_TOKEN_NOT_BOUND');
  if (binding.jkt !== proof.jkt) throw new DpopError('ERR_DPOP_KEY_MISMATCH');
}

/**
 * A bound token sent under the `Bearer` scheme. Bound to a DPoP key, it is only good with a proof
 * by that key, so it is refused whatever else holds (RFC 9449 7.2, `ERR_DPOP_BOUND_TOKEN_AS_BEARER`).
 * Bound to a certificate (RFC 8705 3), it is good only on `connection`, the request's TLS socket,
 * when its peer certificate is that one: without a connection given, or on one without it, it is
 * refused (`ERR_MTLS_CERTIFICATE_REQUIRED`, `_MISMATCH`). Every refusal is answered `invalid_token`.
 */
export function refuseBoundBearer(principal: Principal, connection?: PeerCertificateSource): void {
  const { binding } = principal;
  if (binding === undefined) return;
  if (binding.type === 'dpop') throw new DpopError('ERR_DPOP_BOUND_TOKEN_AS_BEARER');
  checkCertificateBinding(principal, connection);
}
