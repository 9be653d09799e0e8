import { type BearerProtocol, type DpopProofSigner, type KeySource, TesseraTypeError } from '@tessera/core';
import {
  type Authenticated,
  type BearerCredential,
  bearer,
  createVerifier,
  dpop,
  enforce,
  type IdentitySource,
  type Policy,
  type Revocations,
  requireScope,
  type Verifier,
} from '@tessera/resource';
import { requestLikeOf } from '@tessera/resource/fastify';
import type { KeyValueStore } from '@tessera/storage';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig, RouteConfig } from '../config.js';
import type { EdgeExchange } from './exchange.js';

/** Token mode at the edge: one verifier for the gateway's audience, a policy per route. */
export interface TokenMode {
  readonly verifier: Verifier;
  /** For /readyz: usable signing keys (the bearer source's own readiness). */
  readonly readiness: IdentitySource['readiness'];
  /** How a token route's refusals challenge: `Bearer`, or `DPoP algs="..."` with `token.dpop`. */
  readonly protocol: BearerProtocol;
  /**
   * The `Authorization` header to send upstream, or throws the refusal. Synchronous when the token
   * is settled without waiting (a cached or known-key token on a route without exchange), so the
   * common request pays no promise; a Promise when it must wait for a JWKS refresh or an exchange.
   */
  authorize(
    request: FastifyRequest,
    route: RouteConfig,
    upstreamUrl: string,
  ): Record<string, string> | Promise<Record<string, string>>;
}

/** Token routes with DPoP: how the edge checks proofs and binds what it sends on. */
export interface EdgeDpop {
  /** The gateway's own key: the exchanged tokens are bound to it, and it signs each upstream proof. */
  readonly signer: DpopProofSigner;
  /** Where the proofs' ids are remembered (shared between instances). */
  readonly replay: KeyValueStore;
  /** The gateway's public origin: the `htu` of the clients' proofs is this and the path. */
  readonly publicOrigin: string;
}

export interface TokenModeOptions {
  /** Keys in-process instead of the issuer's JWKS (a co-located token service, tests). */
  readonly keys?: KeySource;
  readonly now?: () => number;
  /** Routes that say `exchange` trade the caller's token here before it goes upstream. */
  readonly exchange?: EdgeExchange;
  /** The deny-list every token is checked against, a cached one included. */
  readonly revocations?: Revocations;
  /** With `token.dpop`: the proof checks at the edge and the gateway's key. */
  readonly dpop?: EdgeDpop;
}

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
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
  const edgeDpop = options.dpop;
  const dpopConfig = config.dpop;
  // The config loader demands these; a config built by hand is held to them here, at start.
  if (dpopConfig !== undefined) {
    if (edgeDpop === undefined) throw misuse('token.dpop needs publicOrigin and the gateway DPoP key');
    if (routes.some((route) => route.auth === 'token' && route.exchange === undefined))
      throw misuse('token.dpop: every token route must exchange (a bound token is never forwarded as is)');
  }
  if (config.mtls && routes.some((route) => route.auth === 'token' && route.exchange === undefined))
    throw misuse("token.mtls: every token route must exchange (the caller's token is never forwarded)");
  // With DPoP, the resource library's dpop source: the proof for this gateway's public URL, its
  // jti in the shared store, the token bound to the proof's key, a bound token under Bearer refused.
  const source: IdentitySource =
    dpopConfig === undefined || edgeDpop === undefined
      ? bearer(verifier)
      : dpop(verifier, {
          replay: edgeDpop.replay,
          publicOrigin: edgeDpop.publicOrigin,
          allowBearer: dpopConfig.allowBearer,
          ...(dpopConfig.algorithms === undefined ? {} : { algorithms: [...dpopConfig.algorithms] }),
          ...(dpopConfig.window === undefined ? {} : { window: dpopConfig.window }),
        });
  // Policies are built once per route, at start.
  const policies = new Map<RouteConfig, Policy>();
  for (const route of routes) {
    if (route.scopes !== undefined && route.scopes.length > 0)
      policies.set(route, requireScope(...route.scopes));
  }
  const exchange = options.exchange;

  function upstreamHeaders(
    route: RouteConfig,
    authenticated: Authenticated,
    method: string,
    upstreamUrl: string,
  ): Record<string, string> | Promise<Record<string, string>> {
    enforce(policies.get(route), authenticated.principal);
    // The same token goes on (the upstream verifies it again and sees the user's own claims),
    // or, where the route says so, one exchanged for the upstream alone. With DPoP every route
    // exchanges (the config demands it), so a bound token never leaves the edge as it came.
    const incoming = (authenticated.credential as BearerCredential).reveal();
    if (route.exchange === undefined || exchange === undefined)
      return { authorization: `Bearer ${incoming}` };
    return exchange
      .tokenFor(route, incoming)
      .then((outgoing) =>
        edgeDpop === undefined
          ? { authorization: `Bearer ${outgoing}` }
          : { ...edgeDpop.signer.requestHeaders({ method, url: upstreamUrl, accessToken: outgoing }) },
      );
  }

  const protocol: BearerProtocol = Object.freeze({
    scheme: source.scheme,
    ...(source.challenge === undefined ? {} : { parameters: source.challenge }),
  });
  return {
    verifier,
    readiness: source.readiness,
    protocol,
    authorize(request, route, upstreamUrl) {
      const input = requestLikeOf(request);
      // authenticateNow is undefined for a token whose kid must be fetched first, and for DPoP.
      const now = source.authenticateNow?.(input);
      if (now !== undefined) return upstreamHeaders(route, now, request.method, upstreamUrl);
      return source
        .authenticate(input)
        .then((later) => upstreamHeaders(route, later, request.method, upstreamUrl));
    },
  };
}
