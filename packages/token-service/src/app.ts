import { type ErrorAnswer, errorAnswering, type OAuthErrorBody, traceRequests } from '@tessera/core';
import type { UserDirectory } from '@tessera/identity';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Kysely } from 'kysely';
import { type Logger, pino } from 'pino';
import { bindContext, type EndpointUrls, endpointUrls, type ServiceContext } from './context.js';
import { registerAuthorize } from './endpoints/authorize/index.js';
import { registerConsent } from './endpoints/consent.js';
import { registerDevice } from './endpoints/device/index.js';
import { registerDiscovery } from './endpoints/discovery.js';
import { registerHealth } from './endpoints/health.js';
import { registerIntrospection } from './endpoints/introspect.js';
import { registerJwks } from './endpoints/jwks.js';
import { registerLogin } from './endpoints/login.js';
import { registerLogout } from './endpoints/logout.js';
import { registerMetrics } from './endpoints/metrics.js';
import { registerRevocation } from './endpoints/revoke.js';
import { registerToken } from './endpoints/token/index.js';
import { registerUserinfo } from './endpoints/userinfo.js';
import { AccessTokenIssuer } from './lib/access-token-issuer.js';
import { BackchannelLogout } from './lib/backchannel-logout.js';
import { browserFlowParts } from './lib/browser-flow-parts.js';
import { CORS_PATHS, registerCors } from './lib/cors.js';
import { createServiceDpop } from './lib/dpop.js';
import { registerFormBodyParser } from './lib/form-body.js';
import { KeyManager } from './lib/key-manager.js';
import { countError, createMetrics, type ServiceMetrics } from './lib/metrics.js';
import { schedulePurge } from './lib/purge.js';
import { deriveServiceKeys } from './lib/secrets.js';
import { endUserSessions } from './lib/user-deactivation.js';
import { mtlsServerOptions } from './mtls-listener.js';
import {
  type ResolvedOptions,
  resolveOptions,
  type TlsOptions,
  type TokenServiceOptions,
} from './options.js';
import { ClientRepository } from './store/clients.js';
import type { TokenServiceDatabase } from './store/schema.js';

/** A built token service: the Fastify app (not listening) and the parts an operator drives. */
export interface TokenService {
  readonly app: FastifyInstance;
  readonly issuer: string;
  readonly endpoints: EndpointUrls;
  readonly clients: ClientRepository;
  readonly keys: KeyManager;
  /**
   * The user directory the login form checks passwords against and ID tokens take claims from.
   * A user disabled or deleted through it has their sessions and grants ended at once.
   */
  readonly users: UserDirectory;
  /** Resolves when no background delivery (a back-channel Logout Token) is in flight. */
  idle(): Promise<void>;
  /** Closes the app and stops timers. The database, store and channel belong to the caller. */
  close(): Promise<void>;
}

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'req.body',
  'body',
];

// Only method and path are logged: a query string may carry a code, a state or a misplaced secret.
const serializers = {
  req(request: { method?: string; url?: string; ip?: string }) {
    return { method: request.method, path: (request.url ?? '').split('?')[0], remoteAddress: request.ip };
  },
};

function loggerOf(option: FastifyBaseLogger | boolean): FastifyBaseLogger {
  if (option === false) return pino({ level: 'silent' });
  if (option === true) return pino({ redact: REDACT, serializers });
  return option.child({}, { redact: REDACT, serializers }) as FastifyBaseLogger;
}

/**
 * A server span per request (continuing the caller's `traceparent`; OpenTelemetry, a no-op with
 * no SDK registered), and per answer its duration in the metrics and one access line at `info`:
 * method, path without the query, status and time, nothing else (a query or body may hold a code
 * or a secret). One callback hook for both: each hook Fastify runs per request, and each promise
 * an async one makes, is paid by every /token request.
 */
function registerRequestObservability(app: FastifyInstance, metrics: ServiceMetrics): void {
  traceRequests(app);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    // Pino's own check: the line's fields are gathered only when it is written.
    const check = (request.log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled;
    if (check === undefined || check.call(request.log, 'info')) {
      request.log.info(
        {
          method: request.method,
          path: request.url.split('?')[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request',
      );
    }
    done();
  });
}

const SAFE_DEFAULT_HEADERS = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

function issuerPrefix(issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  return path;
}

/**
 * Every error answer, once sent: a 5xx logged with its cause, a refusal with why (a jose or
 * Fastify code, which never holds a secret) when something underneath caused it, and the OAuth
 * `error` counted.
 */
function observeAnswer(ctx: ServiceContext, answer: ErrorAnswer, request: FastifyRequest): void {
  const { error } = answer;
  if (answer.status >= 500) {
    request.log.error({ err: error.cause ?? error, code: error.code }, 'request failed');
  } else if (error.cause !== undefined) {
    const cause = error.cause as { code?: unknown; message?: unknown };
    request.log.info({ error: error.code, reason: cause.code ?? cause.message }, 'request refused');
  }
  countError(ctx.metrics, error.code, (answer.body as OAuthErrorBody).error);
}

/**
 * The server `app.listen` makes: headers in time (checked every second, not Node's 30 s), no
 * silent connection kept, a whole-request backstop (Node's own 408) for bodies no form parser reads.
 */
function listenerOptions(resolved: ResolvedOptions) {
  const timeouts = { headersTimeout: resolved.headersTimeoutMs, connectionsCheckingInterval: 1_000 };
  return {
    // Between requests as within one: a kept-alive connection is an idle one too.
    connectionTimeout: resolved.idleTimeoutMs,
    keepAliveTimeout: resolved.idleTimeoutMs,
    requestTimeout: resolved.headersTimeoutMs + resolved.bodyTimeoutMs + 2_000,
    ...(resolved.tls === undefined
      ? { http: timeouts }
      : { https: { ...httpsOptions(resolved.tls), ...timeouts } }),
  };
}

/**
 * The HTTPS listener. With mutual TLS on it asks for a client certificate and accepts a handshake
 * without one or with one it cannot verify (`rejectUnauthorized: false`): the token endpoint
 * decides per client (RFC 8705 2), and a client authenticating otherwise must not be cut off.
 */
function httpsOptions(tls: TlsOptions) {
  const cert = Buffer.from(tls.cert);
  const key = Buffer.from(tls.key);
  if (tls.clientCa === undefined) return { cert, key };
  return mtlsServerOptions({ cert, key, clientCa: tls.clientCa });
}

/**
 * Builds the token service on an already migrated database (see `openTokenService`): validates the
 * options once, loads (or creates, at first start) the signing keys, and registers the endpoints.
 * Nothing listens until the caller calls `service.app.listen(...)`.
 */
export async function createTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const resolved: ResolvedOptions = resolveOptions(options);
  const log = loggerOf(resolved.logger);
  for (const warning of resolved.warnings) log.warn(warning);
  const db = resolved.database as Kysely<TokenServiceDatabase>;
  const secrets = deriveServiceKeys(resolved.secret);
  const longestLifetimeS = Math.max(resolved.accessTokenLifetime, resolved.idTokenLifetime);
  const keys = await KeyManager.open({
    db,
    encryptionKey: secrets.keyEncryption,
    // Old keys stay published past the last token they signed, and past the next key reload of
    // any other instance that might still sign with them.
    retireAfterMs: longestLifetimeS * 1000 + resolved.keyReloadIntervalMs,
    // Two reloads: every instance serves a next key before any of them signs with it.
    publishAheadMs: 2 * resolved.keyReloadIntervalMs,
    now: resolved.now,
  });
  const clients = new ClientRepository({
    db,
    secretKey: secrets.clientSecret,
    cacheTtlMs: resolved.clientCacheTtlMs,
    now: resolved.now,
    dev: resolved.dev,
    warn: (message) => log.warn(message),
  });
  const metrics = createMetrics();
  const backchannel = new BackchannelLogout({
    issuer: resolved.issuer,
    keys: () => keys.keySet,
    findClient: (clientId) => clients.find(clientId),
    log,
    counter: metrics.backchannelLogouts,
    now: resolved.now,
    timeoutMs: resolved.backchannelLogoutTimeoutMs,
    retryDelaysMs: resolved.backchannelLogoutRetryDelaysMs,
  });
  const ctx: ServiceContext = Object.freeze({
    options: resolved,
    issuer: resolved.issuer,
    endpoints: endpointUrls(resolved.issuer),
    db,
    store: resolved.store,
    channel: resolved.channel,
    clients,
    keys,
    accessTokens: new AccessTokenIssuer({
      keys: () => keys.keySet,
      issuer: resolved.issuer,
      lifetime: resolved.accessTokenLifetime,
      now: resolved.now,
      alg: resolved.accessTokenAlg,
      byAudience: resolved.accessTokenAlgByAudience,
    }),
    secrets,
    dpop: createServiceDpop({
      store: resolved.store,
      tokenEndpoint: endpointUrls(resolved.issuer).token,
      algorithms: resolved.dpopAlgorithms,
      window: resolved.dpopProofWindow,
      nonceSecret: resolved.dpopNonce ? secrets.dpopNonce : undefined,
      now: resolved.now,
    }),
    metrics,
    now: resolved.now,
    log,
    ...(await browserFlowParts(resolved, db, log)),
    backchannel,
  });

  // Every answer the service makes of an error is RFC 6749 5.2's, Fastify's own refusals included.
  const answers = errorAnswering<FastifyRequest>({
    protocol: 'oauth',
    onAnswer: (answer, request) => observeAnswer(ctx, answer, request),
  });
  const app = Fastify({
    loggerInstance: log,
    ...answers.serverOptions,
    bodyLimit: resolved.bodyLimit,
    // Per-request log lines cost throughput on the hot path; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Only the listed proxies' X-Forwarded-* are believed (an empty list: none, the peer is the client).
    ...(resolved.trustProxy.length === 0 ? {} : { trustProxy: [...resolved.trustProxy] }),
    ...listenerOptions(resolved),
  }) as unknown as FastifyInstance;
  registerFormBodyParser(app, resolved.bodyLimit, resolved.bodyTimeoutMs);
  registerRequestObservability(app, ctx.metrics);
  app.setErrorHandler(answers.errorHandler);
  app.setNotFoundHandler(answers.notFoundHandler);
  app.addHook('onRequest', (_request, reply, done) => {
    // Safe defaults for every answer; discovery and JWKS opt into caching themselves.
    reply.headers(SAFE_DEFAULT_HEADERS);
    done();
  });

  const prefix = issuerPrefix(resolved.issuer);
  await app.register(
    async (scope) => {
      // Registered web origins only (client `allowed_origins`), on what a browser application calls.
      registerCors(
        scope,
        CORS_PATHS.map((path) => `${prefix}${path}`),
        clients,
      );
      registerDiscovery(scope, ctx);
      registerJwks(scope, ctx);
      registerToken(scope, ctx);
      registerIntrospection(scope, ctx);
      registerRevocation(scope, ctx);
      registerAuthorize(scope, ctx);
      registerLogin(scope, ctx);
      registerConsent(scope, ctx);
      registerUserinfo(scope, ctx);
      registerLogout(scope, ctx);
      registerHealth(scope, ctx);
      registerMetrics(scope, ctx);
      registerDevice(scope, ctx);
    },
    { prefix },
  );

  // Logout Tokens still in flight are waited for (each bounded by its timeout) when the app closes.
  app.addHook('onClose', async () => {
    await backchannel.close();
  });
  const stopDeactivation = ctx.users.onUserDeactivated(({ userId }) => endUserSessions(ctx, userId));

  const reload = setInterval(() => {
    keys.reload().catch((error: unknown) => log.error({ err: error }, 'signing key reload failed'));
  }, resolved.keyReloadIntervalMs);
  reload.unref();
  const stopPurge = schedulePurge(ctx, resolved.purgeIntervalMs, log);

  const service: TokenService = Object.freeze({
    app,
    issuer: resolved.issuer,
    endpoints: ctx.endpoints,
    clients,
    keys,
    users: ctx.users,
    idle: () => backchannel.idle(),
    async close() {
      clearInterval(reload);
      stopPurge();
      stopDeactivation();
      await clients.close();
      await app.close();
    },
  });
  bindContext(service, ctx);
  return service;
}
