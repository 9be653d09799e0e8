import { AuthError, type Principal } from '@tessera/core';
import type { Policy } from './policy.js';

/** A refused policy as an error the adapters answer with 403 insufficient_scope. */
export class PolicyRefusal extends AuthError {
  readonly missingScopes: readonly string[];

  constructor(reason: string, missingScopes: readonly string[] = []) {
    super('ERR_AUTH_INSUFFICIENT_SCOPE', reason);
    this.missingScopes = missingScopes;
  }
}

/** Runs a policy; throws a PolicyRefusal when it refuses. */
export function enforce(policy: Policy | undefined, principal: Principal): void {
  if (policy === undefined) return;
  const refusal = policy(principal);
  if (refusal !== undefined) throw new PolicyRefusal(refusal.reason, refusal.missingScopes);
}
