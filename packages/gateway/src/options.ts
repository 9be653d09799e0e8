import type { KeySource, SigningKey } from '@tessera/core';
import type { RevocationChannel } from '@tessera/resource';
import type { ReferenceKey } from '@tessera/resource/session';
import type { KeyValueStore } from '@tessera/storage';
import type { DestinationStream } from 'pino';

/** What `createGateway` takes beside its config: secrets from the environment, and what a host process shares. */
export interface GatewayOptions {
  /**
   * The key that mints session references for each session route's audience, by audience (from
   * the environment, never the config file; `TESSERA_SESSION_REFERENCE_KEYS` for `tessera gateway`).
   */
  readonly sessionReferenceKeys?: Readonly<Record<string, ReferenceKey>>;
  /** This gateway's client secret at the token service, for hybrid routes (from the environment). */
  readonly clientSecret?: string;
  /** Token and hybrid modes: keys in-process instead of the issuer's JWKS (a co-located token service, tests). */
  readonly tokenKeys?: KeySource;
  /**
   * Token mode: a revocation channel to use instead of the configured `token.revocations` (the
   * in-process one of `tessera dev`; it is not closed by the gateway).
   */
  readonly revocationChannel?: RevocationChannel;
  /** A session store to use instead of opening the configured one (it is not closed by the gateway). */
  readonly sessionStore?: KeyValueStore;
  /**
   * The gateway's DPoP key (token.dpop, hybrid.dpop), the same on every instance (from the
   * environment: `TESSERA_GATEWAY_DPOP_KEY` for `tessera gateway`). Unset: one made per process.
   */
  readonly dpopKey?: SigningKey;
  /** Token routes with DPoP: where proof ids are remembered, instead of opening `token.dpop.store` (not closed by the gateway). */
  readonly dpopReplayStore?: KeyValueStore;
  /** Where log lines go; default stdout. */
  readonly logDestination?: DestinationStream;
  /** Clock in epoch ms, for sessions, references, rate limits and token expiry. */
  readonly now?: () => number;
  /**
   * Mutual TLS to the upstreams (`https://` ones): the CA their certificates must chain to, and the
   * certificate and key this gateway presents to them, PEM. A token bound to this certificate
   * (`cnf.x5t#S256`, RFC 8705 3) is then good at an upstream only from this gateway.
   */
  readonly upstreamTls?: { readonly ca: string; readonly cert: string; readonly key: string };
}
