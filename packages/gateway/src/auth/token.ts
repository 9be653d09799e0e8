import type { KeySource } from '@tessera/core';
import {
  type Authenticated,
  type BearerCredential,
  bearer,
  createVerifier,
  enforce,
  type IdentitySource,
  type Policy,
  type Revocations,
  requireScope,
  type Verifier,
} from '@tessera/resource';
import { requestLikeOf } from '@tessera/resource/fastify';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig, RouteConfig } from '../config.js';
import type { EdgeExchange } from './exchange.js';

/** Token mode at the edge: one verifier for the gateway's audience, a policy per route. */
export interface TokenMode {
  readonly verifier: Verifier;
  /** For /readyz: usable signing keys (the bearer source's own readiness). */
  readonly readiness: IdentitySource['readiness'];
  /**
   * The `Authorization` header to send upstream, or throws the refusal. Synchronous when the token
   * is settled without waiting (a cached or known-key token on a route without exchange), so the
   * common request pays no promise; a Promise when it must wait for a JWKS refresh or an exchange.
   */
  authorize(
    request: FastifyRequest,
    route: RouteConfig,
  ): Record<string, string> | Promise<Record<string, string>>;
}

export interface TokenModeOptions {
  /** Keys in-process instead of the issuer's JWKS (a co-located token service, tests). */
  readonly keys?: KeySource;
  readonly now?: () => number;
  /** Routes that say `exchange` trade the caller's token here before it goes upstream. */
  readonly exchange?: EdgeExchange;
  /** The deny-list every token is checked against, a cached one included. */
  readonly revocations?: Revocations;
}

export async function createTokenMode(
  config: NonNullable<GatewayConfig['token']>,
  routes: readonly RouteConfig[],
  options: TokenModeOptions,
): Promise<TokenMode> {
  const verifier = await createVerifier({
    issuer: config.issuer,
    audience: typeof config.audience === 'string' ? config.audience : [...config.audience],
    ...(config.jwksUri === undefined ? {} : { jwksUri: config.jwksUri }),
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(config.cacheSize > 0 ? { cache: { max: config.cacheSize } } : {}),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.revocations === undefined ? {} : { revocations: options.revocations }),
  });
  const source: IdentitySource = bearer(verifier);
  // Policies are built once per route, at start.
  const policies = new Map<RouteConfig, Policy>();
  for (const route of routes) {
    if (route.scopes !== undefined && route.scopes.length > 0)
      policies.set(route, requireScope(...route.scopes));
  }
  const exchange = options.exchange;

  function upstreamHeaders(route: RouteConfig, authenticated: Authenticated) {
    enforce(policies.get(route), authenticated.principal);
    // The same token goes on (the upstream verifies it again and sees the user's own claims),
    // or, where the route says so, one exchanged for the upstream alone.
    const incoming = (authenticated.credential as BearerCredential).reveal();
    if (route.exchange === undefined || exchange === undefined)
      return { authorization: `Bearer ${incoming}` };
    return exchange.tokenFor(route, incoming).then((outgoing) => ({ authorization: `Bearer ${outgoing}` }));
  }

  return {
    verifier,
    readiness: source.readiness,
    authorize(request, route) {
      const input = requestLikeOf(request);
      // authenticateNow is undefined only for a token whose kid must be fetched first.
      const now = source.authenticateNow?.(input);
      if (now !== undefined) return upstreamHeaders(route, now);
      return source.authenticate(input).then((later) => upstreamHeaders(route, later));
    },
  };
}
