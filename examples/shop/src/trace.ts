import type { Principal } from '@tessera/core';

/** An `act` claim (RFC 8693): the current actor, with earlier ones nested inside. */
export interface ActClaim {
  readonly sub: string;
  readonly act?: ActClaim;
}

/** What one service verified about its caller; what a mode does not have is left out. */
export interface TraceEntry {
  readonly service: string;
  readonly sub: string;
  readonly client_id?: string;
  readonly aud: string | readonly string[];
  readonly scope?: string;
  readonly act?: ActClaim;
  /**
   * What the token was bound to and this hop checked: the DPoP key's thumbprint (`jkt`, against
   * the request's proof) or the client certificate's (`x5t#S256`, against the TLS connection).
   */
  readonly binding?: { readonly kind: 'jkt' | 'x5t#S256'; readonly value: string };
}

/** One call of a trace's tree: service `from` called service `to` on the user's behalf. */
export interface TraceCall {
  readonly from: string;
  readonly to: string;
}

function bindingOf(principal: Principal): TraceEntry['binding'] {
  const { binding } = principal;
  if (binding === undefined) return undefined;
  return binding.type === 'dpop'
    ? { kind: 'jkt', value: binding.jkt }
    : { kind: 'x5t#S256', value: binding.x5tS256 };
}

function actOf(actors: Principal['actors']): ActClaim | undefined {
  let claim: ActClaim | undefined;
  // actors is current actor first; the claim nests earlier actors inside the current one.
  for (let i = actors.length - 1; i >= 0; i--) {
    const actor = actors[i];
    if (actor !== undefined)
      claim = claim === undefined ? { sub: actor.subject } : { sub: actor.subject, act: claim };
  }
  return claim;
}

/**
 * The trace entry of `service` for the principal it verified. In token mode it is the token's
 * claims; in session mode there is no token, so no scope: the caller that made the reference is
 * the client and the services it passed through after the edge are the chain, as `act` would be.
 */
export function seenBy(service: string, principal: Principal, mode: 'token' | 'session'): TraceEntry {
  const aud = principal.audience.length === 1 ? (principal.audience[0] as string) : [...principal.audience];
  const act = actOf(principal.actors);
  const binding = bindingOf(principal);
  return {
    service,
    sub: principal.subject,
    client_id: principal.clientId,
    aud,
    ...(mode === 'session' ? {} : { scope: principal.scopes.join(' ') }),
    ...(act === undefined ? {} : { act }),
    ...(binding === undefined ? {} : { binding }),
  };
}
