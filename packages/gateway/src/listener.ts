import { type AnswerProtocol, traceRequests } from '@tessera/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { gatewayAnswers, sendError } from './answer.js';
import type { GatewayConfig } from './config.js';
import { createLogger } from './observability/logger.js';
import type { GatewayMetrics, RouteMeter } from './observability/metrics.js';
import { logsAt, requestLogger } from './observability/request-logger.js';
import type { GatewayOptions } from './options.js';

/** What the access log and the metrics know about a proxied request. */
export interface RequestFacts {
  readonly route: string;
  readonly mode: string;
  /** How the route's refusals are answered: a token route's challenge (Bearer, or DPoP with its algs); else JSON. */
  readonly protocol?: AnswerProtocol;
  /** The route's metrics, bound once per route. */
  readonly meter: RouteMeter;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The route and mode a proxied request matched; null until the proxy has matched it. */
    gatewayRoute: RequestFacts | null;
  }
}

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

/**
 * Errors Fastify catches, and those of a proxied request that waited (session, hybrid, exchange):
 * anything that is not an HTTP answer of its own is logged, and every one is answered as JSON.
 * Logged by the status it is answered with: a 5xx is the gateway's failure (error), a 4xx the
 * client's (info), whatever raised it (a login refused by the user directory, a bad body).
 */
export function answerFailure(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const code = (error as { code?: unknown }).code;
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
}

/** One access-log line and one counted request per answer, with the route and mode it matched. */
function countAndLogAnswers(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.decorateRequest('gatewayRoute', null);
  app.addHook('onResponse', (request, reply, done) => {
    const matched = request.gatewayRoute;
    const route = matched?.route ?? request.routeOptions.url ?? 'none';
    const mode = matched?.mode ?? 'gateway';
    const status = reply.statusCode;
    (matched?.meter ?? metrics.meter(route, mode)).answered(status);
    // The line's fields cost something to gather (the client address, the elapsed time): only
    // when it is written.
    if (logsAt(request.log, 'info')) {
      const q = request.url.indexOf('?');
      // A fixed set of fields: never headers, the query string or a body (tokens, cookies, passwords).
      request.log.info(
        {
          method: request.method,
          path: q < 0 ? request.url : request.url.slice(0, q),
          route,
          mode,
          status,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          address: request.ip,
        },
        'request',
      );
    }
    done();
  });
}

/**
 * The gateway's Fastify app before any route: its logger (one line per answer, written by the
 * gateway itself), body limit, trusted proxies and listener timeouts; a server span per request
 * (continuing the client's traceparent; the session lookup, the token's verification and the
 * upstream call are its children); the access log and request metrics; JSON for every error and
 * for a path nothing answers.
 */
export function createListener(
  config: GatewayConfig,
  options: Pick<GatewayOptions, 'logDestination'>,
  metrics: GatewayMetrics,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: createLogger(config.logLevel, options.logDestination) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: requestLogger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy as boolean | string[],
    // What Fastify refuses before any route (a bad URL, an invalid header) is answered as ours.
    ...gatewayAnswers.serverOptions,
    ...listenerTimeouts(config.clients),
  });
  traceRequests(app);
  countAndLogAnswers(app, metrics);
  // Errors Fastify catches, and those of a proxied request that waited (session, hybrid, exchange):
  // each is logged by its status and answered through core's answerFor (src/answer.ts).
  app.setErrorHandler(gatewayAnswers.errorHandler);
  app.setNotFoundHandler(gatewayAnswers.notFoundHandler);
  return app;
}
