import { type DpopReplayStore, type KeySource, TesseraTypeError } from '@tessera/core';
import {
  allOf,
  bearer,
  createVerifier,
  dpop,
  type IdentitySource,
  type Policy,
  type Revocations,
  requireDelegation,
  requireScope,
} from '@tessera/resource';
import { type PartKeys, sessionSource } from '@tessera/resource/session';
import type { SessionManager } from '@tessera/session';

/** What a route asks of its caller, whatever the mode. */
export interface Needs {
  /** Scopes the caller's token must carry (token mode). */
  readonly scopes: readonly string[];
  /** The delegation chain the call must have come through, current actor first (both modes). */
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
  /**
   * DPoP mode (RFC 9449): every route takes only `Authorization: DPoP` with a proof by the key the
   * token is bound to, each proof's `jti` recorded in `replay` (share it between instances).
   * Unset: bearer tokens.
   */
  readonly dpop?: { readonly replay: DpopReplayStore };
  /**
   * Mutual TLS mode (RFC 8705): every route takes only tokens bound to a certificate, from the
   * connection presenting it (the service listens on TLS asking for client certificates), so a
   * caller's unbound token copied from anywhere is refused (`ERR_MTLS_TOKEN_NOT_BOUND`).
   */
  readonly mtls?: boolean;
}

/** Token mode: each service verifies the caller's access token locally (and its DPoP proof, with `dpop`). */
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
      if (options.dpop !== undefined) return dpop(verifier, { replay: options.dpop.replay });
      return bearer(verifier, { certificateBound: options.mtls === true });
    },
    policy(needs: Needs): Policy {
      const scope = requireScope(...needs.scopes);
      return needs.via === undefined ? scope : allOf(scope, requireDelegation({ via: needs.via }));
    },
  });
}

/** The calls the shop's services make to each other, `[caller, audience]`: session reference edges. */
export const SHOP_CALLS: readonly (readonly [string, string])[] = Object.freeze([
  ['orders', 'inventory'],
  ['orders', 'payments'],
]);

export interface SessionAuthOptions {
  /** A session manager over the gateway's session store (same store, same key prefix). */
  readonly manager: SessionManager;
  /**
   * Each service's own session reference keys, by service (`keysByPart` over the gateway's
   * routes and SHOP_CALLS): what it opens from its callers and what it mints for those it calls.
   */
  readonly keys: Readonly<Record<string, PartKeys>>;
  /** Clock in epoch ms (tests). */
  readonly now?: () => number;
}

/**
 * Session mode: each service opens the session reference its caller made for it, with its key
 * for that caller, and looks the session up in the shared store by its hash. A session carries no
 * scopes, so a route's scopes are not checkable here; the delegation chain is (each reference
 * names the services it passed through), and what is left is "a signed-in user is behind this
 * call, through these services". That gap is what the shop is there to show.
 */
export function sessionAuth(options: SessionAuthOptions): ShopAuth {
  return Object.freeze({
    mode: 'session' as const,
    async source(audience: string): Promise<IdentitySource> {
      const keys = options.keys[audience];
      if (keys === undefined) {
        throw new TesseraTypeError('ERR_INVALID_OPTION', `no session reference keys for ${audience}`);
      }
      return sessionSource({
        manager: options.manager,
        references: {
          self: audience,
          accept: keys.accept,
          mint: keys.mint,
          ...(options.now === undefined ? {} : { now: options.now }),
        },
      });
    },
    policy(needs: Needs): Policy | undefined {
      return needs.via === undefined ? undefined : requireDelegation({ via: needs.via });
    },
  });
}
