import { type ReadinessCheck, TesseraTypeError } from '@tessera/core';
import { probeStore } from '@tessera/storage';
import type { FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { type GatewayDpopKey, gatewayDpopKey, proofReplayStore, usesDpop } from './auth/dpop.js';
import { discoveredTokenEndpoint, EdgeExchange } from './auth/exchange.js';
import { createHybridMode, type HybridMode } from './auth/hybrid/index.js';
import { signInCookieNames } from './auth/hybrid/sign-in.js';
import { type EdgeRevocations, subscribeEdgeRevocations } from './auth/revocations.js';
import type { SessionMode } from './auth/session.js';
import { createTokenMode, type EdgeDpop, type TokenMode } from './auth/token.js';
import type { GatewayConfig } from './config.js';
import type { GatewayOptions } from './options.js';
import { Shutdown } from './shutdown.js';

/** The session cookie's names when no session mode is configured (the session package's defaults). */
const defaultSessionCookieNames = ['__Host-tessera-sid', 'tessera-sid'] as const;

/** The auth modes the configured routes use, opened; a mode no route uses is undefined. */
export interface GatewayModes {
  readonly token: TokenMode | undefined;
  readonly session: SessionMode | undefined;
  readonly hybrid: HybridMode | undefined;
  /**
   * For /readyz, what the routes need to answer: the session store (session and hybrid), the
   * user directory (form login), usable signing keys and the revocation channel (token: a gateway
   * deaf to revocations lets revoked tokens through). The token service's JWKS endpoint is not:
   * cached keys verify without it, and only a verifier with none cannot.
   */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** The names a session cookie can have here: refused beside a bearer token on every non-public route. */
  readonly sessionCookieNames: readonly string[];
  /** Lower case: the gateway's own cookies, which an upstream may never set. */
  readonly ownCookies: ReadonlySet<string>;
}

/** An undici Agent presenting the gateway's certificate and trusting only `tls.ca` (start checks demand `tls`). */
function certificateAgent(setting: string, tls: GatewayOptions['upstreamTls']): Agent {
  if (tls === undefined) throw new TesseraTypeError('ERR_INVALID_OPTION', `${setting} needs upstreamTls`);
  return new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key } });
}

function openTokenMode(
  config: NonNullable<GatewayConfig['token']>,
  routes: GatewayConfig['routes'],
  options: GatewayOptions,
  revocations: EdgeRevocations | undefined,
  dpop: EdgeDpop | undefined,
  mtls: Agent | undefined,
): Promise<TokenMode> {
  const { clientId } = config;
  return createTokenMode(config, routes, {
    ...(revocations === undefined ? {} : { revocations: revocations.revocations }),
    ...(dpop === undefined ? {} : { dpop }),
    ...(options.tokenKeys === undefined ? {} : { keys: options.tokenKeys }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(clientId === undefined || options.clientSecret === undefined
      ? {}
      : {
          exchange: new EdgeExchange({
            // token.mtls: the alias endpoint over the gateway's certificate, so the token is bound to it.
            tokenEndpoint: discoveredTokenEndpoint(config.issuer, 5_000, mtls !== undefined),
            clientId,
            clientSecret: options.clientSecret,
            timeoutMs: 5_000,
            now: options.now ?? Date.now,
            ...(dpop === undefined ? {} : { dpop: dpop.signer }),
            ...(mtls === undefined ? {} : { dispatcher: mtls }),
          }),
        }),
  });
}

/**
 * Opens the modes the routes use: token mode (and its revocation subscription), session mode
 * (its store and, for form login, the user directory), hybrid mode on top of the session. What
 * each opens is closed with the app (`Shutdown`).
 */
export async function openModes(
  app: FastifyInstance,
  config: GatewayConfig,
  options: GatewayOptions,
): Promise<GatewayModes> {
  const uses = (mode: string) => config.routes.some((route) => route.auth === mode);
  const shutdown = new Shutdown(app);
  const dpopKey: GatewayDpopKey | undefined = usesDpop(config)
    ? await gatewayDpopKey(options.dpopKey)
    : undefined;
  let token: TokenMode | undefined;
  let revocations: EdgeRevocations | undefined;
  let proofStoreReadiness: Record<string, ReadinessCheck> = {};
  if (uses('token') && config.token !== undefined) {
    const subscribed = await subscribeEdgeRevocations(config.token, options.revocationChannel);
    if (subscribed !== undefined) shutdown.add(() => subscribed.close());
    revocations = subscribed;
    let dpop: EdgeDpop | undefined;
    if (config.token.dpop !== undefined && dpopKey !== undefined && config.publicOrigin !== undefined) {
      const replay = proofReplayStore(config, options.dpopReplayStore);
      if (replay.owned) shutdown.add(() => replay.store.close());
      dpop = { signer: dpopKey.signer, replay: replay.store, publicOrigin: config.publicOrigin };
      // A proof is recorded before a request goes on: without the store no DPoP request is answered.
      proofStoreReadiness = { 'dpop proof store': () => probeStore(replay.store) };
    }
    // token.mtls: the exchanges present the certificate the upstreams get.
    const mtls = config.token.mtls ? certificateAgent('token.mtls', options.upstreamTls) : undefined;
    if (mtls !== undefined) shutdown.add(() => mtls.close());
    token = await openTokenMode(config.token, config.routes, options, revocations, dpop, mtls);
  }
  let session: SessionMode | undefined;
  if ((uses('session') || uses('hybrid')) && config.session !== undefined) {
    // Loaded only here: session mode brings the user directory (argon2) and the SQL drivers,
    // which a gateway without session or hybrid routes never loads.
    const { createSessionMode } = await import('./auth/session.js');
    const opened = await createSessionMode(config.session, config.identity, {
      referenceKeys: options.sessionReferenceKeys,
      log: app.log,
      ...(options.sessionStore === undefined ? {} : { store: options.sessionStore }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    shutdown.add(() => opened.close());
    session = opened;
  }
  let hybrid: HybridMode | undefined;
  if (uses('hybrid') && config.hybrid !== undefined && session !== undefined) {
    // hybrid.mtls: the token service is reached presenting the certificate the upstreams get.
    const mtls = config.hybrid.mtls ? certificateAgent('hybrid.mtls', options.upstreamTls) : undefined;
    if (mtls !== undefined) shutdown.add(() => mtls.close());
    hybrid = createHybridMode(config.hybrid, session, {
      clientSecret: options.clientSecret as string,
      now: options.now ?? Date.now,
      log: app.log,
      sessionLifetimeMs: (config.session?.absoluteTimeoutSeconds ?? 43_200) * 1000,
      ...(options.tokenKeys === undefined ? {} : { keys: options.tokenKeys }),
      ...(config.hybrid.dpop && dpopKey !== undefined ? { dpop: dpopKey } : {}),
      ...(mtls === undefined ? {} : { mtls }),
    });
    if (config.hybrid.dpop && dpopKey?.generated === true) {
      app.log.warn(
        'hybrid.dpop with a DPoP key made for this process: instances sharing sessions need the same dpopKey',
      );
    }
  }
  const sessionCookieNames = session?.cookieNames ?? defaultSessionCookieNames;
  // Both spellings of each, whatever this deployment reads: an upstream has no business with either.
  const ownCookies = new Set(
    [
      ...(session === undefined
        ? defaultSessionCookieNames
        : [session.manager.options.cookieName, session.manager.options.devCookieName]),
      signInCookieNames.secure,
      signInCookieNames.relaxed,
    ].map((name) => name.toLowerCase()),
  );
  return {
    token,
    session,
    hybrid,
    readiness: {
      ...token?.readiness,
      ...revocations?.readiness,
      ...proofStoreReadiness,
      ...session?.readiness,
    },
    sessionCookieNames,
    ownCookies,
  };
}
