import { DpopError } from '../errors/dpop.js';
import type { Principal } from '../principal.js';
import type { VerifiedDpopProof } from './verify.js';

/**
 * RFC 9449 7: a token sent under the `DPoP` scheme must be bound (`cnf.jkt`), and to the key that
 * signed the request's proof. Throws a DpopError answered `invalid_token`.
 */
export function checkDpopBinding(principal: Principal, proof: VerifiedDpopProof): void {
  const { binding } = principal;
  if (binding === undefined) throw new DpopError('ERR_DPOP_TOKEN_NOT_BOUND');
  if (binding.jkt !== proof.jkt) throw new DpopError('ERR_DPOP_KEY_MISMATCH');
}

/**
 * RFC 9449 7.2: a token bound to a key is only good with a proof by that key, so sent under the
 * `Bearer` scheme it is refused (`invalid_token`), whatever else holds.
 */
export function refuseBoundBearer(principal: Principal): void {
  if (principal.binding !== undefined) throw new DpopError('ERR_DPOP_BOUND_TOKEN_AS_BEARER');
}
