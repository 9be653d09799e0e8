import { audit, HttpError } from '@tessera/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../answer.js';
import { refuseAmbiguousCredentials } from '../auth/credentials.js';
import type { AuthMode, GatewayConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import { answerFailure } from '../listener.js';
import type { GatewayModes } from '../modes.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { GatewayOptions } from '../options.js';
import { registerBufferedBodies } from './body.js';
import { modeTable } from './dispatch.js';
import { type ForwardOptions, forward, type RoutePlan } from './forward.js';
import { InFlightBound } from './in-flight.js';
import { type CompiledRoute, RouteTable } from './routes.js';
import { UpstreamPools } from './upstream-pools.js';

const allMethods = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const;
// A `.` or `..` segment, its dots or its separators percent-encoded or a backslash: an upstream that
// decodes `%2f` or reads `\` as `/` before it normalises the path would otherwise step out of the prefix.
const dotSegment = /(^|\/|\\|%2f|%5c)(\.|%2e){1,2}(\/|\\|%2f|%5c|$)/i;

function mayHoldDots(target: string): boolean {
  return target.includes('.') || target.includes('%');
}

/** A token the edge refused (token routes' bearer tokens), in the audit trail. */
function refused(request: FastifyRequest, mode: AuthMode, error: unknown): void {
  if (mode !== 'token') return;
  audit(request.log, 'token.refused', { reason: String((error as { code?: unknown }).code) });
}

/** The host upstreams are told clients use: `publicOrigin`'s, else the hybrid redirect URI's. */
function publicHostOf(config: GatewayConfig): string | undefined {
  const origin = config.publicOrigin ?? config.hybrid?.redirectUri;
  return origin === undefined ? undefined : new URL(origin).host;
}

/** Proxied requests of one client address in flight at once, counted from the first byte. */
function boundInFlight(proxy: FastifyInstance, maxPerAddress: number): void {
  const inFlight = new InFlightBound(maxPerAddress);
  // Counted until the answer is sent or the connection is gone, so a client trickling bodies is bounded too.
  proxy.addHook('onRequest', (request, reply, done) => {
    const address = request.ip;
    if (!inFlight.tryAcquire(address)) {
      sendError(reply.header('retry-after', '1'), new GatewayError('ERR_TOO_MANY_IN_FLIGHT'));
      return;
    }
    // `on` with a flag of its own rather than `once` (which wraps the listener anew per request):
    // released exactly once, whatever emits.
    let held = true;
    reply.raw.on('close', () => {
      if (!held) return;
      held = false;
      inFlight.release(address);
    });
    done();
  });
}

/**
 * The routes of the config, proxied: a route by longest prefix, its mode's handler (the mode
 * table, `./dispatch.ts`) for the identity the upstream gets, then the upstream call. `/` is the
 * page's unless a route claims it (`servesPage`).
 */
export async function registerProxy(
  app: FastifyInstance,
  config: GatewayConfig,
  modes: GatewayModes,
  metrics: GatewayMetrics,
  servesRoot: boolean,
  upstreamTls?: GatewayOptions['upstreamTls'],
): Promise<void> {
  const table = new RouteTable(config.routes);
  const dispatch = modeTable(config.routes, modes);
  const pools = new UpstreamPools(
    table.routes.map((route) => route.origin),
    config.upstreams,
    upstreamTls,
  );
  // Closed with the app, after the listener: a request still in flight then fails.
  app.addHook('onClose', () => pools.close());
  const forwardOptions: ForwardOptions = {
    pools,
    timeoutMs: config.upstreams.timeoutMs,
    publicHost: publicHostOf(config),
  };
  // What every request of a route shares, made once: its facts for the log and metrics (its
  // meter bound), the rules its answers are cleaned by.
  const plans = new Map<CompiledRoute, RoutePlan>();
  for (const route of table.routes) {
    const mode = route.config.auth;
    const meter = metrics.meter(route.prefix, mode);
    plans.set(route, {
      facts:
        mode === 'token' && modes.token !== undefined
          ? { route: route.prefix, mode, protocol: modes.token.protocol, meter }
          : { route: route.prefix, mode, meter },
      responseRules: { ownCookies: modes.ownCookies, authenticated: mode !== 'public' },
    });
  }
  await app.register(async (proxy) => {
    // Proxied bodies, whatever their type, are read whole (bounded in size and time) before an
    // upstream connection is taken for them, and sent on as the bytes they are.
    registerBufferedBodies(proxy, { limit: config.bodyLimit, timeoutMs: config.clients.bodyTimeoutMs });
    boundInFlight(proxy, config.clients.maxInFlightPerAddress);

    // Callback style, not an async function: a token route whose token is settled at once (the
    // verified-token cache, a known key) forwards without a promise, and returning nothing tells
    // Fastify the reply is sent by someone else (returning the reply would make it wait for the
    // response's end; a promise of nothing would make it send an empty answer).
    const handler = (request: FastifyRequest, reply: FastifyReply): undefined => {
      const match = table.match(request.url);
      if (match === undefined) {
        sendError(reply, new HttpError('ERR_HTTP_NOT_FOUND', 'no route matches the request path'));
        return undefined;
      }
      const mode = match.route.config.auth;
      // Every route the table matches was planned above; its facts are shared, read-only, by its requests.
      const plan = plans.get(match.route) as RoutePlan;
      request.gatewayRoute = plan.facts;
      const q = request.url.indexOf('?');
      // A dot segment needs a `.` or a `%` (`%2e`): a path with neither skips the expression.
      if (mayHoldDots(request.url) && dotSegment.test(q < 0 ? request.url : request.url.slice(0, q))) {
        sendError(
          reply,
          new HttpError('ERR_HTTP_REQUEST_INVALID', 'dot segments in the path are not accepted'),
        );
        return undefined;
      }
      let identity: ReturnType<(typeof dispatch)[AuthMode]>;
      try {
        refuseAmbiguousCredentials(
          request.url,
          request.headers,
          mode === 'public' ? [] : modes.sessionCookieNames,
        );
        identity = dispatch[mode](request, reply, match);
      } catch (error) {
        refused(request, mode, error);
        sendError(reply, error);
        return undefined;
      }
      if (!(identity instanceof Promise)) {
        forward(request, reply, match, plan, identity, forwardOptions);
        return undefined;
      }
      identity
        .then(
          (headers) => {
            forward(request, reply, match, plan, headers, forwardOptions);
          },
          // A refusal: answered as the synchronous path answers one.
          (error: unknown) => {
            refused(request, mode, error);
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
    if (servesRoot) proxy.route({ method: [...allMethods], url: '/', handler });
    proxy.route({ method: [...allMethods], url: '/*', handler });
  });
}
