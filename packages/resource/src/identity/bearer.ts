import type { Verifier } from '../verify/verifier.js';
import { BearerCredential } from './bearer-credential.js';
import { readBearerToken } from './bearer-header.js';
import type { Authenticated, IdentitySource, RequestLike } from './types.js';

/** The `bearer` identity source: an access token in the Authorization header, verified locally. */
export function bearer(verifier: Verifier): IdentitySource {
  return Object.freeze({
    scheme: 'Bearer',
    async authenticate(request: RequestLike): Promise<Authenticated> {
      const token = readBearerToken(request);
      const principal = await verifier.verify(token);
      return { principal, credential: new BearerCredential(token) };
    },
    authenticateNow(request: RequestLike): Authenticated | undefined {
      const token = readBearerToken(request);
      const principal = verifier.verifyNow(token);
      return principal === undefined ? undefined : { principal, credential: new BearerCredential(token) };
    },
  });
}
