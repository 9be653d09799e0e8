import { TesseraTypeError } from '@tessera/core';
import type { UserDirectory } from '@tessera/identity';
import type { Channel, KeyValueStore } from '@tessera/storage';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { TokenService } from './app.js';
import type { DeviceInteraction } from './endpoints/device/interaction.js';
import type { AccessTokenIssuer } from './lib/access-token-issuer.js';
import type { BackchannelLogout } from './lib/backchannel-logout.js';
import type { ServiceDpop } from './lib/dpop.js';
import type { SealedInteractions } from './lib/interaction.js';
import type { KeyManager } from './lib/key-manager.js';
import type { ServiceMetrics } from './lib/metrics.js';
import type { ServiceKeys } from './lib/secrets.js';
import type { SsoSessions } from './lib/sso.js';
import type { ResolvedOptions } from './options.js';
import type { AuthorizationCodeRepository } from './store/authorization-codes.js';
import type { ClientRepository } from './store/clients.js';
import type { DeviceCodeRepository } from './store/device-codes.js';
import type { GrantRepository } from './store/grants.js';
import type { RevocationRepository } from './store/revocations.js';
import type { TokenServiceDatabase } from './store/schema.js';

/** Absolute URLs of the endpoints, built once from the issuer. */
export interface EndpointUrls {
  readonly authorization: string;
  readonly token: string;
  readonly userinfo: string;
  readonly jwks: string;
  readonly introspection: string;
  readonly revocation: string;
  readonly endSession: string;
  /** RFC 8628 3.1. */
  readonly deviceAuthorization: string;
  /** RFC 8628 3.3: the user-code page (`verification_uri`). */
  readonly device: string;
}

/**
 * Everything an endpoint needs, built once by `createTokenService` and passed to each endpoint's
 * register function (no module-level state).
 */
export interface ServiceContext {
  readonly options: ResolvedOptions;
  readonly issuer: string;
  readonly endpoints: EndpointUrls;
  readonly db: Kysely<TokenServiceDatabase>;
  readonly store: KeyValueStore;
  readonly channel: Channel;
  readonly clients: ClientRepository;
  readonly keys: KeyManager;
  /**
   * Signs access tokens with the active key of the algorithm their audience is configured for
   * (`accessTokenAlg`, `accessTokenAlgByAudience`), the issuer, the configured lifetime and clock.
   */
  readonly accessTokens: AccessTokenIssuer;
  readonly secrets: ServiceKeys;
  /** DPoP proofs at /token (RFC 9449): their verifier, the replay record in `store`, the nonces. */
  readonly dpop: ServiceDpop;
  readonly metrics: ServiceMetrics;
  readonly now: () => number;
  readonly log: FastifyBaseLogger;
  /** The user directory (login form, ID token and userinfo claims). */
  readonly users: UserDirectory;
  /** The token service's own browser login session (SSO). */
  readonly sso: SsoSessions;
  /** /authorize requests carried sealed in the login or consent form. */
  readonly interactions: SealedInteractions;
  /** Grants (refresh families) and the access tokens issued under them. */
  readonly grants: GrantRepository;
  /** The revocation list of access-token jtis, and grant revocation in one pass. */
  readonly revocations: RevocationRepository;
  readonly codes: AuthorizationCodeRepository;
  /** Device authorizations (RFC 8628) and their user-code page's sealed sign-in. */
  readonly devices: DeviceCodeRepository;
  readonly deviceInteractions: SealedInteractions<DeviceInteraction>;
  /** Sends Logout Tokens when a session ends (`send`); `idle()` resolves when none is in flight. */
  readonly backchannel: BackchannelLogout;
}

const contexts = new WeakMap<TokenService, ServiceContext>();

/**
 * Ties a built service to its context. The context holds the service's secrets and every
 * repository: it is not part of the package's API, only this package's modules (and its tests)
 * reach it, through `contextOf`.
 */
export function bindContext(service: TokenService, ctx: ServiceContext): void {
  contexts.set(service, ctx);
}

/** The context of a service built by `createTokenService`. */
export function contextOf(service: TokenService): ServiceContext {
  const ctx = contexts.get(service);
  if (ctx === undefined)
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'not a service built by createTokenService');
  return ctx;
}

export function endpointUrls(issuer: string): EndpointUrls {
  // The issuer may have a path (https://example.com/auth); endpoints hang below it.
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  return Object.freeze({
    authorization: `${base}/authorize`,
    token: `${base}/token`,
    userinfo: `${base}/userinfo`,
    jwks: `${base}/jwks`,
    introspection: `${base}/introspect`,
    revocation: `${base}/revoke`,
    endSession: `${base}/logout`,
    deviceAuthorization: `${base}/device_authorization`,
    device: `${base}/device`,
  });
}
