import type { KeySource } from '@tessera/core';
import {
  allOf,
  bearer,
  createVerifier,
  type IdentitySource,
  type Policy,
  type Revocations,
  requireDelegation,
  requireScope,
} from '@tessera/resource';
import { type SessionReferences, sessionSource } from '@tessera/resource/session';
import type { SessionManager } from '@tessera/session';

/** What a route asks of its caller, whatever the mode. */
export interface Needs {
  /** Scopes the caller's token must carry (token mode). */
  readonly scopes: readonly string[];
  /** The delegation chain the call must have come through, current actor first (token mode). */
  readonly via?: readonly string[];
}

/**
 * The one mode-specific part of a shop service: where identity comes from and which of a route's
 * needs that mode can check. The services are written against this and nothing else, so the same
 * code runs in token and session modes.
 */
export interface ShopAuth {
  readonly mode: 'token' | 'session';
  /** The identity source for a service whose audience is `audience`. */
  source(audience: string): Promise<IdentitySource>;
  /** The policy for a route's needs; undefined when the mode has nothing of them to check. */
  policy(needs: Needs): Policy | undefined;
}

export interface TokenAuthOptions {
  /** The token service, exactly as in `iss`; its keys are found by discovery. */
  readonly issuer: string;
  /** Keys in-process instead of the issuer's JWKS (tests). */
  readonly keys?: KeySource;
  /** Revocation events from the token service, so a revoked token stops working at once. */
  readonly revocations?: Revocations;
  /** The verified-token cache; default on. Off, every request checks the signature again. */
  readonly cache?: boolean;
}

/** Token mode: each service verifies the caller's access token locally. */
export function tokenAuth(options: TokenAuthOptions): ShopAuth {
  return Object.freeze({
    mode: 'token' as const,
    async source(audience: string): Promise<IdentitySource> {
      const verifier = await createVerifier({
        issuer: options.issuer,
        audience,
        cache: options.cache ?? true,
        ...(options.keys === undefined ? {} : { keys: options.keys }),
        ...(options.revocations === undefined ? {} : { revocations: options.revocations }),
      });
      return bearer(verifier);
    },
    policy(needs: Needs): Policy {
      const scope = requireScope(...needs.scopes);
      return needs.via === undefined ? scope : allOf(scope, requireDelegation({ via: needs.via }));
    },
  });
}

export interface SessionAuthOptions {
  /** A session manager over the gateway's session store (same store, same key prefix). */
  readonly manager: SessionManager;
  /** Session references made with the secret the gateway signs with. */
  readonly references: SessionReferences;
}

/**
 * Session mode: each service opens the gateway's session reference and looks the session up in
 * the shared store. A session carries no scopes and no delegation chain, so a route's needs are
 * not checkable here: what session mode offers is "a signed-in user is behind this call" and a
 * reference bound to this service and route. That gap is what the shop is there to show.
 */
export function sessionAuth(options: SessionAuthOptions): ShopAuth {
  return Object.freeze({
    mode: 'session' as const,
    async source(audience: string): Promise<IdentitySource> {
      return sessionSource({ manager: options.manager, references: options.references, audience });
    },
    policy(): undefined {
      return undefined;
    },
  });
}
