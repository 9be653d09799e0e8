import { LoginRateLimiter, migrateIdentity, openUserDirectory, type UserDirectory } from '@tessera/identity';
import {
  createSessionReferences,
  SESSION_REFERENCE_HEADER,
  type SessionReferences,
} from '@tessera/resource/session';
import {
  createSessionManager,
  type HttpRequestInfo,
  RequestSession,
  type SessionManager,
} from '@tessera/session';
import type { KeyValueStore } from '@tessera/storage';
import { createDatabase, parseDatabaseUrl } from '@tessera/storage/sql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig, RouteConfig } from '../config.js';
import { cookieValue } from './credentials.js';
import { openStore } from './stores.js';

/** What the gateway keeps in a session: who signed in (the id is the session's user). */
export interface GatewaySessionData {
  readonly username: string;
}

export interface SessionMode {
  readonly manager: SessionManager<GatewaySessionData>;
  readonly directory: UserDirectory;
  /** Both names the session cookie can have (the plain-http localhost one in development). */
  readonly cookieNames: readonly string[];
  /** This request's session, loaded (one store read when a cookie is sent, none otherwise). */
  load(request: FastifyRequest, reply: FastifyReply): Promise<RequestSession<GatewaySessionData>>;
  /**
   * The session reference header for the upstream, or throws `session_required` (401),
   * `session_store_unavailable` (503) or a CSRF refusal (403).
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
  /** The secret shared with the services for session references (at least 32 bytes). */
  readonly referenceSecret: string;
  /** An existing store (tests, `tessera dev`); otherwise one is opened from the config. */
  readonly store?: KeyValueStore;
  readonly now?: () => number;
}

const csrfHeader = 'x-csrf-token';

export function requestInfo(request: FastifyRequest): HttpRequestInfo {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    method: request.method,
    protocol: request.protocol,
    host: header('host'),
    cookie: header('cookie'),
    origin: header('origin'),
    secFetchSite: header('sec-fetch-site'),
    userAgent: header('user-agent'),
    address: request.ip,
  };
}

export async function createSessionMode(
  config: NonNullable<GatewayConfig['session']>,
  identity: NonNullable<GatewayConfig['identity']>,
  options: SessionModeOptions,
): Promise<SessionMode> {
  const references: SessionReferences = createSessionReferences({
    secret: options.referenceSecret,
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
  const db = await createDatabase(parseDatabaseUrl(identity.database));
  await migrateIdentity(db);
  const directory = await openUserDirectory({
    db,
    rateLimiter: new LoginRateLimiter({
      store,
      prefix: 'login:',
      ...(options.now === undefined ? {} : { now: options.now }),
    }),
  });
  // A disabled or deleted account loses every session at once (SECURITY-CASES E 82).
  const stopListening = directory.onUserDeactivated(async ({ user }) => {
    await manager.destroyAllForUser(user.id);
  });
  const cookieNames = [manager.options.cookieName, manager.options.devCookieName];

  async function load(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<RequestSession<GatewaySessionData>> {
    const session = new RequestSession(manager, requestInfo(request), (name, value) => {
      reply.header(name, value);
    });
    await session.load();
    return session;
  }

  return {
    manager,
    directory,
    cookieNames,
    load,
    async authorize(request, reply, route, upstreamPath) {
      const session = await load(request, reply);
      session.require();
      const token = request.headers[csrfHeader];
      session.checkCsrf(typeof token === 'string' ? token : undefined);
      // The live session was found under exactly one cookie of one of our names: that value is its id.
      const id = cookieNames
        .map((name) => cookieValue(request.headers.cookie, name))
        .find((v) => v !== undefined);
      if (id === undefined) session.require();
      const q = upstreamPath.indexOf('?');
      const path = q < 0 ? upstreamPath : upstreamPath.slice(0, q);
      return {
        [SESSION_REFERENCE_HEADER]: references.sign(
          id as string,
          route.audience as string,
          `${request.method} ${path}`,
        ),
      };
    },
    async close() {
      stopListening();
      await db.destroy();
      if (ownsStore) await store.close();
    },
  };
}
