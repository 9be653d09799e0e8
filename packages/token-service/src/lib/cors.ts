import type { FastifyInstance, FastifyReply, onRequestHookHandler } from 'fastify';
import { isLoopbackHttp } from './redirect-uri.js';

/**
 * CORS for browser applications (a public client on a web page: code + PKCE from JavaScript).
 * Only an origin some client registered in `allowed_origins` gets CORS headers; any other origin
 * gets none at all, so its scripts cannot read an answer (the request itself is as it would be
 * from curl: CORS protects the reader, never the server). Credentials are never allowed: a browser
 * application authenticates with what it sends (PKCE, a bearer token), never with this service's
 * cookies, so `Access-Control-Allow-Credentials` is never sent and the SSO cookie never rides a
 * cross-origin fetch.
 */

/** The endpoints a browser application calls, relative to the issuer's path. */
export const CORS_PATHS = [
  '/token',
  '/revoke',
  '/userinfo',
  '/jwks',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
] as const;

const ALLOWED_METHODS = 'GET, POST';
// Userinfo takes the token in Authorization; /token and /revoke take a form body; a DPoP proof
// rides in its own header (RFC 9449 4.1).
const ALLOWED_HEADERS = 'authorization, content-type, dpop';
// A bearer error's reason is in WWW-Authenticate (RFC 6750 3), and a server nonce in DPoP-Nonce
// (RFC 9449 8): neither is a CORS-safelisted header.
const EXPOSED_HEADERS = 'www-authenticate, dpop-nonce';
const PREFLIGHT_MAX_AGE_S = '600';

function parse(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Why `value` cannot be registered as a web origin, or undefined when it can: an exact origin as a
 * browser sends it in `Origin` (scheme://host[:port], lowercase, no default port, no trailing
 * slash), so that matching is string equality; https, or http on a loopback host.
 */
export function webOriginProblem(value: string): string | undefined {
  if (value.includes('*')) return 'is a wildcard: register each origin exactly';
  const url = parse(value);
  if (url === undefined || url.origin === 'null') return 'is not an origin (scheme://host[:port])';
  if (url.origin !== value) {
    return `is not an exact origin: write ${JSON.stringify(url.origin)} (no path, no trailing slash, no default port, lowercase)`;
  }
  if (url.protocol === 'https:' || isLoopbackHttp(url)) return undefined;
  return 'must use https, or http on a loopback host';
}

/** Where the set of registered origins comes from (the client repository, cached there). */
export interface WebOrigins {
  webOrigins(): Promise<ReadonlySet<string>>;
}

function allow(reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', EXPOSED_HEADERS);
}

/**
 * Adds CORS to `paths` (full route URLs) of `app`: `Vary: Origin` on every answer of theirs (they
 * differ by origin, and discovery and JWKS are cacheable), the allow headers for a registered
 * origin, and a preflight (`OPTIONS` with `Access-Control-Request-Method`) from a registered origin
 * answered 204 here. A preflight from any other origin goes on to the route's own answer (405),
 * which carries no CORS header, so the browser refuses the call. The hook is attached to those
 * routes alone as they are registered (after this call), so no other request runs it, and none
 * pays for reading its route back (Fastify builds `request.routeOptions` afresh on every read).
 */
export function registerCors(app: FastifyInstance, paths: readonly string[], origins: WebOrigins): void {
  const covered = new Set(paths);
  // A callback hook, not an async one: most requests (every server-to-server /token call) send no
  // Origin, and those are done here without a promise.
  const cors: onRequestHookHandler = (request, reply, done) => {
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (typeof origin !== 'string') {
      done();
      return;
    }
    origins.webOrigins().then(
      (registered) => {
        if (!registered.has(origin)) {
          done();
          return;
        }
        allow(reply, origin);
        if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
          reply
            .headers({
              'access-control-allow-methods': ALLOWED_METHODS,
              'access-control-allow-headers': ALLOWED_HEADERS,
              'access-control-max-age': PREFLIGHT_MAX_AGE_S,
            })
            .code(204)
            .send();
          return;
        }
        done();
      },
      (error: Error) => done(error),
    );
  };
  app.addHook('onRoute', (route) => {
    if (!covered.has(route.url)) return;
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [...own, cors];
  });
}
