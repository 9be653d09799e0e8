import { type MetricsExposure, type Principal, serveHealthEndpoints } from '@tessera/core';
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
}

/** A Fastify app with every route protected by default, for the service whose audience is `name`. */
export async function createServiceApp(name: string, options: ShopServiceOptions): Promise<FastifyInstance> {
  const { logger } = options;
  // A logger of one's own gets the same request serializer (no query string) as the default one.
  const app =
    typeof logger === 'object'
      ? Fastify({ loggerInstance: logger.child({}, { serializers: { req: requestSerializer } }) })
      : Fastify({ logger: logger === true ? { serializers: { req: requestSerializer } } : false });
  const source = await options.auth.source(name);
  await app.register(fastifyResource, {
    source,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  // Liveness: the process serves. Readiness: the identity source can authenticate (session mode:
  // the session store answers; token mode: signing keys are cached or can be fetched).
  serveHealthEndpoints(app, source.readiness ?? {});
  return app;
}

/** The route config for `needs` in this mode, plus policies every mode can check. */
export function protect(
  auth: ShopAuth,
  needs: Needs,
  ...always: readonly Policy[]
): { auth: RouteAuthConfig } {
  const modePolicy = auth.policy(needs);
  const policies = modePolicy === undefined ? always : [...always, modePolicy];
  return { auth: policies.length === 0 ? {} : { policy: allOf(...policies) } };
}

/** This service's trace entry for the request's principal. */
export function traceOf(service: string, principal: Principal | null, auth: ShopAuth): TraceEntry {
  if (principal === null) throw new TypeError(`${service}: a trace needs an authenticated request`);
  return seenBy(service, principal, auth.mode);
}

/** A positive integer no larger than `max`, or undefined. */
export function positiveInteger(value: unknown, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= max
    ? value
    : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
