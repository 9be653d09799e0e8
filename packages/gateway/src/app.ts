import fastifyReplyFrom from '@fastify/reply-from';
import { audit, type KeySource } from '@tessera/core';
import type { RevocationChannel } from '@tessera/resource';
import { traceRequests } from '@tessera/resource/fastify';
import type { ReferenceKey } from '@tessera/resource/session';
import type { KeyValueStore } from '@tessera/storage';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { DestinationStream } from 'pino';
import { sendError } from './answer.js';
import { refuseAmbiguousCredentials } from './auth/credentials.js';
import { registerSessionEndpoints } from './auth/endpoints.js';
import { discoveredTokenEndpoint, EdgeExchange } from './auth/exchange.js';
import { createHybridMode, type HybridMode } from './auth/hybrid/index.js';
import { signInCookieNames } from './auth/hybrid/sign-in.js';
import { type EdgeRevocations, subscribeEdgeRevocations } from './auth/revocations.js';
import type { SessionMode } from './auth/session.js';
import { createTokenMode, type TokenMode } from './auth/token.js';
import { type GatewayConfig, servesPage } from './config.js';
import { GatewayError } from './errors.js';
import { registerHealth } from './observability/health.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { logsAt, requestLogger } from './observability/request-logger.js';
import { registerPage } from './page/index.js';
import { registerBufferedBodies } from './proxy/body.js';
import { forward } from './proxy/forward.js';
import { InFlightBound } from './proxy/in-flight.js';
import { RouteTable } from './proxy/routes.js';
import { refuseMissingSecrets } from './start-checks.js';

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
  /** Where log lines go; default stdout. */
  readonly logDestination?: DestinationStream;
  /** Clock in epoch ms, for sessions, references, rate limits and token expiry. */
  readonly now?: () => number;
}

/** What the access log and the metrics know about a proxied request. */
interface RequestFacts {
  readonly route: string;
  readonly mode: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    gatewayRoute: RequestFacts | null;
  }
}

/** The session cookie's names when no session mode is configured (the session package's defaults). */
const defaultSessionCookieNames = ['__Host-tessera-sid', 'tessera-sid'] as const;
const allMethods = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const;
const dotSegment = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

/**
 * The listener's own bounds: headers in time (checked every second rather than Node's 30 s),
 * no silent connection kept, and a whole-request backstop for bodies the proxy does not read
 * itself (a GET's, the /auth endpoints'): Node answers those 408 and closes.
 */
function listenerTimeouts(clients: GatewayConfig['clients']) {
  return {
    // Between requests as within one: a kept-alive connection is an idle one too.
    connectionTimeout: clients.idleTimeoutMs,
    keepAliveTimeout: clients.idleTimeoutMs,
    requestTimeout: clients.headersTimeoutMs + clients.bodyTimeoutMs + 2_000,
    http: { headersTimeout: clients.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
  };
}

/** A token the edge refused (token and hybrid routes' bearer tokens), in the audit trail. */
function refused(request: FastifyRequest, mode: string, error: unknown): void {
  if (mode !== 'token') return;
  audit(request.log, 'token.refused', { reason: String((error as { code?: unknown }).code) });
}

/** The host upstreams are told clients use: `publicOrigin`'s, else the hybrid redirect URI's. */
function publicHostOf(config: GatewayConfig): string | undefined {
  const origin = config.publicOrigin ?? config.hybrid?.redirectUri;
  return origin === undefined ? undefined : new URL(origin).host;
}

/**
 * Builds the gateway as a Fastify app, without listening: routes from the config, an auth mode per
 * route, the session endpoints when a session route exists, /healthz and /metrics. Everything it
 * opened (stores, databases, pools) is closed by `app.close()`.
 */
export async function createGateway(
  config: GatewayConfig,
  options: GatewayOptions = {},
): Promise<FastifyInstance> {
  refuseMissingSecrets(config, options);
  const metrics = createMetrics();
  const table = new RouteTable(config.routes);
  const needsToken = config.routes.some((r) => r.auth === 'token');
  const needsHybrid = config.routes.some((r) => r.auth === 'hybrid');
  const needsSession = needsHybrid || config.routes.some((r) => r.auth === 'session');

  const logger = createLogger(config.logLevel, options.logDestination);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // The gateway writes its own access log line (fixed fields, no headers or query).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: requestLogger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy as boolean | string[],
    return503OnClosing: true,
    ...listenerTimeouts(config.clients),
  });

  let token: TokenMode | undefined;
  let session: SessionMode | undefined;
  let hybrid: HybridMode | undefined;
  let revocations: EdgeRevocations | undefined;
  app.addHook('onClose', async () => {
    await session?.close();
    await revocations?.close();
  });
  try {
    if (needsToken && config.token !== undefined) {
      const { clientId } = config.token;
      revocations = await subscribeEdgeRevocations(config.token, options.revocationChannel);
      token = await createTokenMode(config.token, config.routes, {
        ...(revocations === undefined ? {} : { revocations: revocations.revocations }),
        ...(options.tokenKeys === undefined ? {} : { keys: options.tokenKeys }),
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(clientId === undefined || options.clientSecret === undefined
          ? {}
          : {
              exchange: new EdgeExchange({
                tokenEndpoint: discoveredTokenEndpoint(config.token.issuer, 5_000),
                clientId,
                clientSecret: options.clientSecret,
                timeoutMs: 5_000,
                now: options.now ?? Date.now,
              }),
            }),
      });
    }
    if (needsSession && config.session !== undefined) {
      // Loaded only here: session mode brings the user directory (argon2) and the SQL drivers,
      // which a gateway without session or hybrid routes never loads.
      const { createSessionMode } = await import('./auth/session.js');
      session = await createSessionMode(config.session, config.identity, {
        referenceKeys: options.sessionReferenceKeys,
        log: app.log,
        ...(options.sessionStore === undefined ? {} : { store: options.sessionStore }),
        ...(options.now === undefined ? {} : { now: options.now }),
      });
    }
    if (needsHybrid && config.hybrid !== undefined && session !== undefined) {
      hybrid = createHybridMode(config.hybrid, session, {
        clientSecret: options.clientSecret as string,
        now: options.now ?? Date.now,
        log: app.log,
        sessionLifetimeMs: (config.session?.absoluteTimeoutSeconds ?? 43_200) * 1000,
        ...(options.tokenKeys === undefined ? {} : { keys: options.tokenKeys }),
      });
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  const sessionCookieNames = session?.cookieNames ?? defaultSessionCookieNames;

  // A server span per request, continuing the client's traceparent (OpenTelemetry; a no-op
  // without an SDK): the session lookup, the token's verification and the upstream call are its children.
  traceRequests(app);

  // The route and mode a proxied request matched, for the access log and the metrics; null until
  // the proxy handler has matched (the page, /healthz, the auth endpoints, 404s).
  app.decorateRequest('gatewayRoute', null);
  app.addHook('onResponse', (request, reply, done) => {
    const fact = request.gatewayRoute ?? { route: request.routeOptions.url ?? 'none', mode: 'gateway' };
    const status = reply.statusCode;
    metrics.requests.inc({ route: fact.route, mode: fact.mode, status: String(status) });
    // The line's fields cost something to gather (the client address, the elapsed time): only
    // when it is written.
    if (logsAt(request.log, 'info')) {
      const q = request.url.indexOf('?');
      // A fixed set of fields: never headers, the query string or a body (tokens, cookies, passwords).
      request.log.info(
        {
          method: request.method,
          path: q < 0 ? request.url : request.url.slice(0, q),
          route: fact.route,
          mode: fact.mode,
          status,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          address: request.ip,
        },
        'request',
      );
    }
    done();
  });

  // Errors Fastify catches, and those of a proxied request that waited (session, hybrid, exchange):
  // anything that is not an HTTP answer of its own is logged, and every one is answered as JSON.
  const answerFailure = (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const code = (error as { code?: unknown }).code;
    // Logged by the status it is answered with: a 5xx is the gateway's failure (error), a 4xx the
    // client's (info), whatever raised it (a login refused by the user directory, a bad body).
    const sent = sendError(reply, error);
    if (sent.statusCode >= 500) {
      request.log.error(
        { code, name: (error as Error).name, message: (error as Error).message },
        'request failed',
      );
    } else {
      request.log.info({ code, status: sent.statusCode }, 'request refused');
    }
    return sent;
  };
  app.setErrorHandler((error, request, reply) => answerFailure(error, request, reply));
  app.setNotFoundHandler((_request, reply) => sendError(reply, new GatewayError('not_found')));

  // --- observability: /healthz, /readyz, /metrics (src/observability/health.ts) ---------------
  // Readiness is what the configured routes need to answer: the session store (session and
  // hybrid), the user directory (form login), usable signing keys and the revocation channel
  // (token: a gateway deaf to revocations lets revoked tokens through). The token service's
  // JWKS endpoint is not: cached keys verify without it, and only a verifier with none cannot.
  registerHealth(app, {
    readiness: { ...token?.readiness, ...revocations?.readiness, ...session?.readiness },
    metrics,
    exposure: config.metrics,
  });

  if (session !== undefined) {
    const mode = session;
    await app.register(async (auth) => {
      registerSessionEndpoints(auth, mode, config.session?.allowedOrigins, hybrid);
    });
  }

  const page = servesPage(config);
  if (page) {
    const pageClient = config.token?.pageClient;
    const login = config.routes.some((r) => r.auth === 'hybrid')
      ? 'redirect'
      : session !== undefined
        ? 'form'
        : pageClient !== undefined && config.token !== undefined
          ? 'browser'
          : 'none';
    const modes = new Set(config.routes.map((r) => r.auth).filter((auth) => auth !== 'public'));
    const mode = modes.size === 0 ? 'public' : modes.size === 1 ? [...modes][0] : 'mixed';
    await app.register(async (page) => {
      registerPage(page, {
        login,
        ...(config.pageReport === undefined ? {} : { report: config.pageReport }),
        ...(mode === undefined ? {} : { mode }),
        ...(login === 'browser' && pageClient !== undefined && config.token !== undefined
          ? {
              signIn: {
                issuer: config.token.issuer,
                clientId: pageClient.clientId,
                scopes: pageClient.scopes,
              },
            }
          : {}),
      });
    });
  }

  await app.register(async (proxy) => {
    // Proxied bodies, whatever their type, are read whole (bounded in size and time) before an
    // upstream connection is taken for them, and sent on as the bytes they are.
    registerBufferedBodies(proxy, { limit: config.bodyLimit, timeoutMs: config.clients.bodyTimeoutMs });
    const inFlight = new InFlightBound(config.clients.maxInFlightPerAddress);
    // Counted from the first byte, so a client trickling bodies is bounded too, until its answer
    // is sent or its connection is gone.
    proxy.addHook('onRequest', (request, reply, done) => {
      const address = request.ip;
      if (!inFlight.tryAcquire(address)) {
        sendError(reply.header('retry-after', '1'), new GatewayError('too_many_requests'));
        return;
      }
      reply.raw.once('close', () => inFlight.release(address));
      done();
    });
    await proxy.register(fastifyReplyFrom, {
      disableRequestLogging: true,
      undici: {
        connections: config.upstreams.connections,
        pipelining: 1,
        keepAliveTimeout: config.upstreams.keepAliveTimeoutMs,
        headersTimeout: config.upstreams.timeoutMs,
        bodyTimeout: config.upstreams.timeoutMs,
        connect: { timeout: config.upstreams.connectTimeoutMs },
      },
    });

    const forwardOptions = {
      timeoutMs: config.upstreams.timeoutMs,
      metrics,
      publicHost: publicHostOf(config),
      // Both spellings of each, whatever this deployment reads: an upstream has no business with either.
      ownCookies: new Set(
        [
          ...(session === undefined
            ? defaultSessionCookieNames
            : [session.manager.options.cookieName, session.manager.options.devCookieName]),
          signInCookieNames.secure,
          signInCookieNames.relaxed,
        ].map((n) => n.toLowerCase()),
      ),
    };
    // Callback style, not an async function: a token route whose token is settled at once (the
    // verified-token cache, a known key) forwards without a promise, and returning nothing tells
    // Fastify the reply is sent by someone else (returning the reply would make it wait for the
    // response's end; a promise of nothing would make it send an empty answer).
    const handler = (request: FastifyRequest, reply: FastifyReply): undefined => {
      const match = table.match(request.url);
      if (match === undefined) {
        sendError(reply, new GatewayError('not_found'));
        return undefined;
      }
      const { config: route } = match.route;
      request.gatewayRoute = { route: match.route.prefix, mode: route.auth };
      const q = request.url.indexOf('?');
      if (dotSegment.test(q < 0 ? request.url : request.url.slice(0, q))) {
        sendError(reply, new GatewayError('invalid_request', 'dot segments in the path are not accepted'));
        return undefined;
      }
      let added: Record<string, string> | Promise<Record<string, string>> = {};
      try {
        refuseAmbiguousCredentials(
          request.url,
          request.headers,
          route.auth === 'public' ? [] : sessionCookieNames,
        );
        if (route.auth === 'token' && token !== undefined) added = token.authorize(request, route);
        if (route.auth === 'session' && session !== undefined) {
          added = session.authorize(request, reply, route, match.upstreamPath);
        }
        if (route.auth === 'hybrid' && hybrid !== undefined) added = hybrid.authorize(request, reply, route);
      } catch (error) {
        refused(request, route.auth, error);
        sendError(reply, error);
        return undefined;
      }
      if (!(added instanceof Promise)) {
        forward(request, reply, match, added, forwardOptions);
        return undefined;
      }
      added
        .then(
          (headers) => {
            forward(request, reply, match, headers, forwardOptions);
          },
          // A refusal: answered as the synchronous path answers one.
          (error: unknown) => {
            refused(request, route.auth, error);
            sendError(reply, error);
          },
        )
        // forward failing to start: logged and answered as Fastify's error handler would.
        .catch((error: unknown) => {
          if (!reply.sent) answerFailure(error, request, reply);
          else request.log.error({ code: (error as { code?: unknown }).code }, 'request failed');
        });
      return undefined;
    };
    // `/` itself is the page's unless a route claims it.
    if (!page) proxy.route({ method: [...allMethods], url: '/', handler });
    proxy.route({ method: [...allMethods], url: '/*', handler });
  });

  return app;
}
