import {
  answerFor,
  audit,
  errorAnswering,
  type MetricsExposure,
  type Principal,
  redactUrl,
  sendAnswer,
  serveMetricsEndpoint,
  TesseraTypeError,
  traceRequests as traceSpans,
} from '@tessera/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  preHandlerAsyncHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import { enforce } from '../authorize/decide.js';
import type { Policy } from '../authorize/policy.js';
import type { Authenticated, Credential, IdentitySource, RequestLike } from '../identity/types.js';
import {
  checkMetricsExposure,
  createServiceMetrics,
  metricsEndpoint,
  type ServiceMetrics,
} from '../metrics/service-metrics.js';
import { type RequestReader, RequestView } from './request-view.js';

/**
 * Fastify's `req` log serializer with the URL redacted: pass it as
 * `Fastify({ logger: { serializers: { req: requestSerializer } } })` so a token a client put in
 * the query string never reaches the log.
 */
export function requestSerializer(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
  };
}

// How the bearer, DPoP and session sources read a Fastify request (see RequestView).
const fastifyReader: RequestReader<FastifyRequest> = Object.freeze({
  headers: (request: FastifyRequest) => request.headers,
  rawHeaders: (request: FastifyRequest) => request.raw.rawHeaders,
  method: (request: FastifyRequest) => request.method,
  url: (request: FastifyRequest) => request.url,
  body: (request: FastifyRequest): unknown => request.body,
  socket: (request: FastifyRequest) => request.raw.socket,
  origin: (request: FastifyRequest) => `${request.protocol}://${request.host}`,
});

/**
 * What an identity source reads of a Fastify request. The raw headers too: the bearer source
 * refuses two Authorization headers (RFC 6750, docs/security.md F84), which Node's parsed headers
 * would have folded into the first.
 */
export function requestLikeOf(request: FastifyRequest): RequestLike {
  return new RequestView(request, fastifyReader);
}

/**
 * A server span for every request of `app` (OpenTelemetry, a no-op without an SDK): it continues
 * the caller's `traceparent`, is the parent of what the handler does (the service client's calls
 * included), and ends with the status answered. `fastifyResource` adds it; an app with no
 * protected routes can call it itself.
 */
export function traceRequests(app: FastifyInstance): void {
  traceSpans(app);
}

/** Counts every answer of `app` and serves `/metrics` where the exposure says. */
function serveMetrics(app: FastifyInstance, metrics: ServiceMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  serveMetricsEndpoint(app, metricsEndpoint(metrics));
}

/** Per-route settings: `config: { auth: { policy } }`, or `config: { auth: false }` for a public route. */
export interface RouteAuthConfig {
  /** Checked after authentication; a refusal is 403 insufficient_scope. */
  readonly policy?: Policy;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; null on a public route. */
    principal: Principal | null;
    /** What the caller presented, for the service client; null on a public route. */
    credential: Credential | null;
  }
  interface FastifyContextConfig {
    auth?: RouteAuthConfig | false;
  }
  interface FastifyInstance {
    /** A preHandler that checks a policy on the already authenticated request. */
    authorize(policy: Policy): preHandlerAsyncHookHandler;
  }
}

export interface FastifyResourceOptions {
  /** `bearer(verifier)` or the session source. */
  readonly source: IdentitySource;
  /**
   * Where `/metrics` (Prometheus text) is served: `{ listen: { host, port } }` (a listener of its
   * own), `{ bearerToken }` (this port, with that token) or `{ public: true }`. Unset (the
   * default): nowhere, and nothing is counted.
   */
  readonly metrics?: MetricsExposure;
  /** Whether routes without `config.auth` are protected. Default true: opt out with `auth: false`. */
  readonly requireByDefault?: boolean;
  /** A policy every protected route checks before its own. */
  readonly policy?: Policy;
  /**
   * Install `@tessera/core`'s error handler for the app, answering as a resource server (RFC 6750
   * 3 challenges in the source's scheme, core's JSON body), so an error a handler throws is never
   * answered in Fastify's shape. Default true; false when the app installs its own (through
   * `errorAnswering` too). The app's not-found handler and listener options are its own: see
   * the README.
   */
  readonly errorHandler?: boolean;
}

function refuse(reply: FastifyReply, error: unknown, scheme: string, parameters?: string): FastifyReply {
  return sendAnswer(reply, answerFor(error, { scheme, ...(parameters === undefined ? {} : { parameters }) }));
}

async function plugin(app: FastifyInstance, options: FastifyResourceOptions): Promise<void> {
  const { source, requireByDefault = true, policy: basePolicy } = options;
  if (typeof source !== 'object' || source === null || typeof source.authenticate !== 'function') {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      'source must be an identity source (bearer(verifier) or the session source)',
    );
  }
  if (options.errorHandler ?? true) {
    app.setErrorHandler(errorAnswering({ protocol: { scheme: source.scheme } }).errorHandler);
  }
  app.decorateRequest('principal', null);
  app.decorateRequest('credential', null);
  traceRequests(app);
  const metrics =
    options.metrics === undefined ? undefined : createServiceMetrics(checkMetricsExposure(options.metrics));
  if (metrics !== undefined) serveMetrics(app, metrics);

  function guard(routePolicy: Policy | undefined): preHandlerHookHandler {
    function accept(request: FastifyRequest, result: Authenticated): void {
      enforce(basePolicy, result.principal);
      enforce(routePolicy, result.principal);
      request.principal = result.principal;
      request.credential = result.credential;
    }
    function fail(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
      refuse(reply, error, source.scheme, source.challenge);
      // By the status answered: a refusal (4xx) is the caller's affair, an unreachable key set or
      // session store (5xx) is this service's.
      const code = (error as { code?: unknown }).code;
      metrics?.verifyFailed(String(code));
      if (reply.statusCode >= 500) request.log.error({ code }, 'request failed in @tessera/resource');
      else if (source.scheme === 'Bearer' || source.scheme === 'DPoP') {
        audit(request.log, 'token.refused', { reason: String(code) });
      } else request.log.info({ code }, 'request refused by @tessera/resource');
    }
    // Callback style, so the common case (a known key, or a cached token) costs no promise; a
    // refusal sends the answer and does not call done (Fastify's early-response contract).
    return function authenticate(
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) {
      const input = requestLikeOf(request);
      if (source.answerHeaders !== undefined) reply.headers(source.answerHeaders());
      try {
        const now = source.authenticateNow?.(input);
        if (now !== undefined) {
          accept(request, now);
          done();
          return;
        }
      } catch (error) {
        fail(request, reply, error);
        return;
      }
      source.authenticate(input).then(
        (result) => {
          try {
            accept(request, result);
          } catch (error) {
            fail(request, reply, error);
            return;
          }
          done();
        },
        (error: unknown) => fail(request, reply, error),
      );
    };
  }

  app.decorate('authorize', (policy: Policy): preHandlerAsyncHookHandler => {
    return async function authorize(request: FastifyRequest, reply: FastifyReply) {
      try {
        if (request.principal === null) {
          throw new TesseraTypeError('ERR_INVALID_USE', 'authorize() runs on a protected route only');
        }
        enforce(policy, request.principal);
      } catch (error) {
        return refuse(reply, error, source.scheme, source.challenge);
      }
    };
  });

  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if (auth === false || (auth === undefined && !requireByDefault)) return;
    const hook = guard(auth?.policy);
    const existing = route.preHandler;
    route.preHandler =
      existing === undefined ? [hook] : [hook, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

/** Protects routes with an identity source and policies; decorates `request.principal`. */
export const fastifyResource = fp(plugin, { fastify: '5.x', name: '@tessera/resource' });

/** The principal and credential of a protected request, for the service client's `on`. */
export function authenticationOf(request: FastifyRequest): Authenticated {
  const { principal, credential } = request;
  if (principal === null || credential === null) {
    throw new TesseraTypeError(
      'ERR_INVALID_USE',
      'the request was not authenticated by fastifyResource (a public route?)',
    );
  }
  return { principal, credential };
}
