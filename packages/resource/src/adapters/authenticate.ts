import { enforce } from '../authorize/decide.js';
import type { Policy } from '../authorize/policy.js';
import type { Authenticated, IdentitySource, RequestLike } from '../identity/types.js';

/** One request through a source and a policy: the Authenticated, or the error to answer with. */
export async function authenticateAndAuthorize(
  source: IdentitySource,
  policy: Policy | undefined,
  request: RequestLike,
): Promise<Authenticated> {
  const authenticated = await source.authenticate(request);
  enforce(policy, authenticated.principal);
  return authenticated;
}
