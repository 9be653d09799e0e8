import { isScopeToken, type Principal } from '@tessera/core';

/** Why a policy refused: shown to the caller (no secrets), and the scopes that would have sufficed. */
export interface Refusal {
  readonly reason: string;
  /** Scopes the request needs that the token lacks; named in `WWW-Authenticate: ... scope=`. */
  readonly missingScopes?: readonly string[];
}

/** A check over the Principal: undefined when allowed, a Refusal otherwise. */
export type Policy = (principal: Principal) => Refusal | undefined;

/** A plain predicate, for `allOf`/`anyOf`/`predicate`. */
export type Predicate = (principal: Principal) => boolean;

/** Every scope named must be in the token's `scope`. */
export function requireScope(...scopes: readonly string[]): Policy {
  if (scopes.length === 0 || !scopes.every(isScopeToken)) {
    throw new TypeError('requireScope needs scope tokens (RFC 6749 3.3)');
  }
  return (principal) => {
    const missing = scopes.filter((scope) => !principal.scopes.includes(scope));
    return missing.length === 0
      ? undefined
      : { reason: 'a required scope is missing', missingScopes: missing };
  };
}

/** The token's `aud` must name one of these (a route narrower than the service's audience). */
export function requireAudience(...audiences: readonly string[]): Policy {
  if (audiences.length === 0) throw new TypeError('requireAudience needs at least one audience');
  return (principal) =>
    principal.audience.some((aud) => audiences.includes(aud))
      ? undefined
      : { reason: 'the token is not meant for this resource' };
}

/** The token's `client_id` (the client that holds it) must be one of these. */
export function requireClient(...clientIds: readonly string[]): Policy {
  if (clientIds.length === 0) throw new TypeError('requireClient needs at least one client id');
  return (principal) =>
    clientIds.includes(principal.clientId) ? undefined : { reason: 'this client may not call this resource' };
}

export interface DelegationRequirement {
  /**
   * The services the request came through, the current actor (the immediate caller) first:
   * `['payments', 'orders']` means payments acts now, on behalf of orders' earlier hop.
   */
  readonly via: readonly string[];
  /** Also refuse a longer chain than `via`. Default false. */
  readonly exact?: boolean;
}

/**
 * The `act` chain (RFC 8693 4.1) must show the request came through the named services, current
 * actor first. Only the chain's order is trusted: a prior actor is informational, so the decision
 * rests on the top-level claims and the current actor, with earlier hops as a required path.
 */
export function requireDelegation(requirement: DelegationRequirement): Policy {
  const { via, exact = false } = requirement;
  if (!Array.isArray(via) || via.length === 0) throw new TypeError('requireDelegation needs a non-empty via');
  return (principal) => {
    const { actors } = principal;
    const fits = via.every((name, index) => actors[index]?.subject === name);
    if (!fits || (exact && actors.length !== via.length)) {
      return { reason: 'the request did not come through the required services' };
    }
    return undefined;
  };
}

/** Any predicate over the Principal as a policy. */
export function predicate(test: Predicate, reason = 'the request is not allowed'): Policy {
  return (principal) => (test(principal) ? undefined : { reason });
}

/** Allowed when every policy allows; the first refusal (with every missing scope) otherwise. */
export function allOf(...policies: readonly Policy[]): Policy {
  return (principal) => {
    const missing: string[] = [];
    let first: Refusal | undefined;
    for (const policy of policies) {
      const refusal = policy(principal);
      if (refusal === undefined) continue;
      first ??= refusal;
      if (refusal.missingScopes !== undefined) missing.push(...refusal.missingScopes);
    }
    if (first === undefined) return undefined;
    return missing.length > 0 ? { reason: first.reason, missingScopes: missing } : first;
  };
}

/** Allowed when any policy allows; the first refusal otherwise. */
export function anyOf(...policies: readonly Policy[]): Policy {
  return (principal) => {
    let first: Refusal | undefined;
    for (const policy of policies) {
      const refusal = policy(principal);
      if (refusal === undefined) return undefined;
      first ??= refusal;
    }
    return first;
  };
}
