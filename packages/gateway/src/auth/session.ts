import {
  AuthError,
  findCookie,
  httpRequestInfo,
  inSpan,
  type ReadinessCheck,
  relaxedCookies,
  TesseraTypeError,
} from '@tessera/core';
import { LoginRateLimiter, migrateIdentity, openUserDirectory, type UserDirectory } from '@tessera/identity';
import {
  createSessionReferences,
  type ReferenceKey,
  SESSION_REFERENCE_HEADER,
  type SessionReferences,
} from '@tessera/resource/session';
import { createSessionManager, RequestSession, type SessionManager } from '@tessera/session';
import type { KeyValueStore } from '@tessera/storage';
import { createDatabase, parseDatabaseUrl, probeDatabase } from '@tessera/storage/sql';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig, RouteConfig } from '../config.js';
import { openStore } from './stores.js';

/**
 * What a hybrid session holds of its sign-in. The tokens themselves are sealed (`TokenVault`):
 * the store never holds them in the clear, and the browser never sees them.
 */
export interface OidcSessionTokens {
  /** The access token and the refresh token, sealed for this session's user. */
  readonly sealed: string;
  /** Epoch ms. */
  readonly accessExpiresAt: number;
  /** The granted scope, space-separated. */
  readonly scope: string;
  /** The token service's session id (`sid`), which back-channel logout names. */
  readonly sid?: string;
  /** The user's claims from the ID token, for /auth/me. */
  readonly claims: Readonly<Record<string, unknown>>;
  /**
   * `hybrid.dpop`: the thumbprint of the gateway key the access token is bound to. An instance
   * whose key is another cannot prove this one, so it refreshes (with its own proof) instead.
   */
  readonly jkt?: string;
}

/** What the gateway keeps in a session: who signed in (the id is the session's user). */
export interface GatewaySessionData {
  readonly username: string;
  /** Present in sessions made by the hybrid sign-in. */
  readonly oidc?: OidcSessionTokens;
}

export interface SessionMode {
  readonly manager: SessionManager<GatewaySessionData>;
  /** The store sessions live in; hybrid mode keeps its sign-in state and locks there too. */
  readonly store: KeyValueStore;
  /** The user directory of form login (session routes); undefined when only hybrid routes exist. */
  readonly directory: UserDirectory | undefined;
  /**
   * The names the session cookie can have here: the `__Host-` one, and with
   * `insecureHttpLocalhost` the plain-http localhost one too (a request carrying both is refused).
   */
  readonly cookieNames: readonly string[];
  /**
   * This request's session, loaded (one store read when a cookie is sent, none otherwise); a
   * request with session cookies of both names is 400 `invalid_request`.
   */
  load(request: FastifyRequest, reply: FastifyReply): Promise<RequestSession<GatewaySessionData>>;
  /** For /readyz: the session store, and the user directory's database when form login is on. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** The session id the request's cookie carries (one cookie of the name `load` read), or undefined. */
  idOf(request: FastifyRequest): string | undefined;
  /**
   * The session reference header for the upstream, or throws `ERR_SESSION_REQUIRED` (401),
   * `ERR_SESSION_STORE_UNAVAILABLE` (503) or a CSRF refusal (403).
   */
  authorize(
    request: FastifyRequest,
    reply: FastifyReply,
    route: RouteConfig,
    upstreamPath: string,
  ): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface SessionModeOptions {
  /**
   * The key that mints session references for each audience this gateway routes to in session
   * mode (one key per edge: gateway -> that service); session routes need one for their audience.
   */
  readonly referenceKeys: Readonly<Record<string, ReferenceKey>> | undefined;
  /** An existing store (tests, `tessera dev`); otherwise one is opened from the config. */
  readonly store?: KeyValueStore;
  readonly now?: () => number;
  /** Where the user directory's background failures go (ending the sessions of a user disabled elsewhere). */
  readonly log?: FastifyBaseLogger;
}

const csrfHeader = 'x-csrf-token';

export async function createSessionMode(
  config: NonNullable<GatewayConfig['session']>,
  identity: GatewayConfig['identity'],
  options: SessionModeOptions,
): Promise<SessionMode> {
  const references: SessionReferences | undefined =
    options.referenceKeys === undefined
      ? undefined
      : createSessionReferences({
          self: config.referenceName,
          mint: options.referenceKeys,
          ...(options.now === undefined ? {} : { now: options.now }),
        });
  const ownsStore = options.store === undefined;
  const store = options.store ?? openStore(config.store);
  const manager = createSessionManager<GatewaySessionData>({
    store,
    cookie: { insecureHttpLocalhost: config.insecureHttpLocalhost },
    idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    absoluteTimeoutMs: config.absoluteTimeoutSeconds * 1000,
    ...(config.allowedOrigins === undefined ? {} : { allowedOrigins: [...config.allowedOrigins] }),
    ...(options.now === undefined ? {} : { now: options.now }),
    onWarning: () => {
      // Reported once at start by the config's own warnings.
    },
  });
  const login = identity === undefined ? undefined : await openLogin(identity, store, manager, options);
  const { cookieName, devCookieName } = manager.options;
  const cookieNames = config.insecureHttpLocalhost ? [cookieName, devCookieName] : [cookieName];
  // The one name a request's session is read under, by the session package's own rule: the
  // reference is signed for the very session that was checked, never a second cookie's.
  const nameFor = (request: FastifyRequest) =>
    relaxedCookies(manager.options, httpRequestInfo(request)) ? devCookieName : cookieName;
  const idOf = (request: FastifyRequest) => findCookie(request.headers.cookie, nameFor(request)).value;

  async function load(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<RequestSession<GatewaySessionData>> {
    // Two spellings at once: whichever one we read, something else (a proxy, the upstream, the
    // browser's next request) might take the other.
    if (
      cookieNames.length > 1 &&
      cookieNames.every((name) => findCookie(request.headers.cookie, name).count > 0)
    ) {
      throw new AuthError('ERR_AUTH_INVALID_REQUEST', 'two session cookies of different names; send one');
    }
    const session = new RequestSession(manager, httpRequestInfo(request), (name, value) => {
      reply.header(name, value);
    });
    await inSpan('tessera.session_lookup', {}, () => session.load());
    return session;
  }

  return {
    manager,
    store,
    directory: login?.directory,
    readiness: Object.freeze({
      'session store': () => manager.checkStore(),
      ...(login === undefined ? {} : { 'user directory': login.probe }),
    }),
    cookieNames,
    load,
    idOf,
    async authorize(request, reply, route, upstreamPath) {
      if (references === undefined) {
        throw new TesseraTypeError('ERR_INVALID_OPTION', 'session routes need session reference keys');
      }
      const session = await load(request, reply);
      const live = session.require();
      const token = request.headers[csrfHeader];
      session.checkCsrf(typeof token === 'string' ? token : undefined);
      const q = upstreamPath.indexOf('?');
      const path = q < 0 ? upstreamPath : upstreamPath.slice(0, q);
      // The reference names the session by its store key, never by the cookie's id: what the
      // upstream opens is nothing a browser, this gateway or another service would accept.
      return {
        [SESSION_REFERENCE_HEADER]: references.mint(
          live.idHash,
          [],
          route.audience as string,
          `${request.method} ${path}`,
        ),
      };
    },
    async close() {
      await login?.close();
      if (ownsStore) await store.close();
    },
  };
}

/** Form login's user directory, with its rate limits in the session store. */
async function openLogin(
  identity: NonNullable<GatewayConfig['identity']>,
  store: KeyValueStore,
  manager: SessionManager<GatewaySessionData>,
  { now, log }: SessionModeOptions,
): Promise<{ directory: UserDirectory; probe: ReadinessCheck; close(): Promise<void> }> {
  const db = await createDatabase(parseDatabaseUrl(identity.database));
  await migrateIdentity(db);
  const directory = await openUserDirectory({
    db,
    rateLimiter: new LoginRateLimiter({ store, prefix: 'login:', ...(now === undefined ? {} : { now }) }),
    ...(identity.deactivationPollMs === undefined ? {} : { deactivationPollMs: identity.deactivationPollMs }),
    ...(log === undefined
      ? {}
      : {
          onBackgroundError: (error: unknown) =>
            log.error({ err: error }, 'user directory background work failed'),
        }),
  });
  // A disabled or deleted account loses every session (docs/security.md E82): at once when this
  // gateway's directory made the change, within a poll when another process did.
  const stopListening = directory.onUserDeactivated(async ({ userId }) => {
    await manager.destroyAllForUser(userId);
  });
  return {
    directory,
    probe: () => probeDatabase(db),
    async close() {
      stopListening();
      await db.destroy();
    },
  };
}
