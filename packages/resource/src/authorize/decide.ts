import { AuthError, type Principal } from '@tessera/core';
import type { Policy } from './policy.js';

/**
 * A refused policy as an error the adapters answer with 403 insufficient_scope; the scopes that
 * would have sufficed are its `scope`, named in the challenge (RFC 6750 3).
 */
export class PolicyRefusal extends AuthError {
  constructor(reason: string, missingScopes: readonly string[] = []) {
    super('ERR_AUTH_INSUFFICIENT_SCOPE', reason, { scope: missingScopes });
  }

  /** The scopes the token lacks: `scope`. */
  get missingScopes(): readonly string[] {
    return this.scope;
  }
}

/** Runs a policy; throws a PolicyRefusal when it refuses. */
export function enforce(policy: Policy | undefined, principal: Principal): void {
  if (policy === undefined) return;
  const refusal = policy(principal);
  if (refusal !== undefined) throw new PolicyRefusal(refusal.reason, refusal.missingScopes);
}
