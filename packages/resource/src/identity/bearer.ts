import { AuthError, inSpan, inSpanSync, type Principal, refuseBoundBearer } from '@tessera/core';
import type { Verifier } from '../verify/verifier.js';
import { BearerCredential } from './bearer-credential.js';
import { bearerTokenOf, checkBearerRequest, readBearerToken } from './bearer-header.js';
import type { Authenticated, IdentitySource, RequestLike } from './types.js';

/**
 * The `bearer` identity source: an access token in the Authorization header, verified locally. A
 * token bound to a DPoP key (`cnf.jkt`) is refused here (RFC 9449 7.2): the `dpop` source takes it.
 * A token bound to a client certificate (`cnf.x5t#S256`, RFC 8705 3) is taken only from the TLS
 * connection whose peer certificate has that thumbprint, checked on every request, cached or not.
 */
export interface BearerOptions {
  /**
   * Take certificate-bound tokens only (RFC 8705 3): a token with no `cnf.x5t#S256` is refused
   * (`ERR_MTLS_TOKEN_NOT_BOUND`, 401 `invalid_token`), so a service behind mutual TLS takes no
   * token a caller could have copied and replayed. Default false.
   */
  readonly certificateBound?: boolean;
}

export function bearer(verifier: Verifier, options: BearerOptions = {}): IdentitySource {
  const { jwks } = verifier;
  const certificateBound = options.certificateBound === true;
  /** The binding checks of every path, cached token or not. */
  const checkBinding = (principal: Principal, socket: RequestLike['socket']): void => {
    refuseBoundBearer(principal, socket);
    if (certificateBound && principal.binding?.type !== 'mtls')
      throw new AuthError('ERR_MTLS_TOKEN_NOT_BOUND');
  };
  return Object.freeze({
    scheme: 'Bearer',
    // Cached keys verify without the token service; keys given in-process are always there. Only
    // a verifier with no usable keys (never fetched, or past its stale bound) cannot verify.
    readiness: Object.freeze({
      'signing keys': jwks === undefined ? async () => {} : () => jwks.ensureKeys(),
    }),
    authenticate(request: RequestLike): Promise<Authenticated> {
      return inSpan('tessera.verify_token', {}, async () => {
        const token = readBearerToken(request);
        const principal = await verifier.verify(token);
        checkBinding(principal, request.socket);
        return { principal, credential: new BearerCredential(token) };
      });
    },
    authenticateNow(request: RequestLike): Authenticated | undefined {
      return inSpanSync('tessera.verify_token', {}, (span) => {
        const now = verifyNow(request);
        if (now === undefined) span.setAttribute('tessera.needs_key_fetch', true);
        return now;
      });
    },
  });

  function verifyNow(request: RequestLike): Authenticated | undefined {
    // The common case first: `Bearer <a token verified before>`. A cache hit is exactly a string
    // that passed every check once, so the header's own syntax check (a regular expression over
    // the token) is left to a miss.
    checkBearerRequest(request);
    const header = request.headers.authorization;
    if (header?.startsWith('Bearer ') === true) {
      const candidate = header.slice(7);
      const cached = verifier.verifyCached(candidate);
      if (cached !== undefined) {
        checkBinding(cached, request.socket);
        return { principal: cached, credential: new BearerCredential(candidate) };
      }
    }
    const token = bearerTokenOf(header);
    const principal = verifier.verifyNow(token);
    if (principal === undefined) return undefined;
    checkBinding(principal, request.socket);
    return { principal, credential: new BearerCredential(token) };
  }
}
