import {
  errorAnswering,
  type MetricsExposure,
  type Principal,
  serveHealthEndpoints,
  TesseraTypeError,
} from '@tessera/core';
import { allOf, type Policy } from '@tessera/resource';
import { fastifyResource, type RouteAuthConfig, requestSerializer } from '@tessera/resource/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Needs, ShopAuth } from './auth.js';
import { seenBy, type TraceEntry } from './trace.js';

/** What every shop service is built from. */
export interface ShopServiceOptions {
  /** Token or session mode: the only thing that differs between modes. */
  readonly auth: ShopAuth;
  /** `true` for Fastify's default logger, or a pino logger of your own; default off. */
  readonly logger?: boolean | FastifyBaseLogger;
  /** Where `/metrics` is served (`@tessera/resource`'s option: listen, bearerToken or public); default nowhere. */
  readonly metrics?: MetricsExposure;
  /**
   * Serve HTTPS and take only callers with a client certificate chained to `ca` (mutual TLS): a
   * token bound to a certificate (`cnf.x5t#S256`, RFC 8705 3) is then checked against the one its
   * caller presented. PEM.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

/** Fastify's HTTPS options for mutual TLS: every caller presents a certificate of the CA. */
function httpsOf(tls: ShopServiceOptions['tls']) {
  if (tls === undefined) return {};
  return { https: { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true } };
}

/**
 * One shop service's bootstrap: its app, and the route config and trace entry bound to its name and
 * mode, so each service states only its routes and what they need.
 */
export interface ShopService {
  /** A Fastify app with every route protected by default, for the service whose audience is its name. */
  readonly app: FastifyInstance;
  /** The route config for `needs` in this service's mode, plus policies every mode can check. */
  protect(needs: Needs, ...always: readonly Policy[]): { auth: RouteAuthConfig };
  /** This service's trace entry for the request's principal. */
  trace(principal: Principal | null): TraceEntry;
}

export async function createShopService(name: string, options: ShopServiceOptions): Promise<ShopService> {
  const { auth } = options;
  return {
    app: await createServiceApp(name, options),
    protect: (needs, ...always) => protect(auth, needs, always),
    trace: (principal) => traceOf(name, principal, auth),
  };
}

async function createServiceApp(name: string, options: ShopServiceOptions): Promise<FastifyInstance> {
  const { logger } = options;
  const source = await options.auth.source(name);
  // A resource server's answers (RFC 6750 challenges, core's JSON body) for every error, those
  // Fastify makes before any route included; fastifyResource installs the same error handler.
  const answers = errorAnswering({ protocol: { scheme: source.scheme } });
  // A logger of one's own gets the same request serializer (no query string) as the default one.
  const app =
    typeof logger === 'object'
      ? Fastify({
          ...answers.serverOptions,
          ...httpsOf(options.tls),
          loggerInstance: logger.child({}, { serializers: { req: requestSerializer } }),
        })
      : Fastify({
          ...answers.serverOptions,
          ...httpsOf(options.tls),
          logger: logger === true ? { serializers: { req: requestSerializer } } : false,
        });
  app.setNotFoundHandler(answers.notFoundHandler);
  await app.register(fastifyResource, {
    source,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  // Liveness: the process serves. Readiness: the identity source can authenticate (session mode:
  // the session store answers; token mode: signing keys are cached or can be fetched).
  serveHealthEndpoints(app, source.readiness ?? {});
  return app;
}

function protect(auth: ShopAuth, needs: Needs, always: readonly Policy[]): { auth: RouteAuthConfig } {
  const modePolicy = auth.policy(needs);
  const policies = modePolicy === undefined ? always : [...always, modePolicy];
  return { auth: policies.length === 0 ? {} : { policy: allOf(...policies) } };
}

function traceOf(service: string, principal: Principal | null, auth: ShopAuth): TraceEntry {
  if (principal === null) {
    throw new TesseraTypeError('ERR_INVALID_USE', `${service}: a trace needs an authenticated request`);
  }
  return seenBy(service, principal, auth.mode);
}

/** A positive integer no larger than `max`, or undefined. */
export function positiveInteger(value: unknown, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= max
    ? value
    : undefined;
}

/** A request's JSON object body, or an empty one when it is absent or not an object (each field is then checked). */
export function bodyFields(body: unknown): Readonly<Record<string, unknown>> {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}
