import { isLoopbackHost, isScopeToken, isTrustedProxyEntry, metricsExposureSchema } from '@tessera/core';
import { type DeepReadonly, type Environment, type LoadedConfig, loadConfig } from '@tessera/core/config';
import { z } from 'zod';

const authModes = ['public', 'session', 'token', 'hybrid'] as const;
export type AuthMode = (typeof authModes)[number];

/** Paths the gateway answers itself; no route may claim them. */
export const reservedPrefixes = ['/auth', '/healthz', '/readyz', '/metrics', '/_tessera'] as const;

const scopeToken = z.string().refine(isScopeToken, 'a scope token (RFC 6749 3.3)');

function isLoopbackUrl(value: string): boolean {
  try {
    return isLoopbackHost(new URL(value).hostname);
  } catch {
    return false;
  }
}

const prefix = z
  .string()
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/, 'a path starting with / (no query, fragment or spaces)')
  .refine((value) => value === '/' || !value.endsWith('/'), 'no trailing slash')
  .refine((value) => !value.split('/').some((s) => s === '.' || s === '..'), 'no . or .. segments')
  .refine((value) => !value.includes('//'), 'no empty segments');

const upstream = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}, 'an absolute http(s) URL without credentials, query or fragment');

const route = z.object({
  prefix,
  upstream,
  auth: z.enum(authModes),
  scopes: z.array(scopeToken).optional(),
  stripPrefix: z.boolean().default(false),
  /** The upstream's audience: session references are signed for it (session routes). */
  audience: z.string().min(1).optional(),
  exchange: z.object({ audience: z.string().min(1), scope: z.array(scopeToken).optional() }).optional(),
});

const hostPort = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

const store = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory') }),
  z.object({ type: z.literal('sqlite'), path: z.string().min(1) }),
  z.object({
    type: z.literal('redis'),
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .optional(),
    /** Sentinel: the sentinels and the monitored master group's name. */
    sentinels: z.array(hostPort).min(1).optional(),
    name: z.string().min(1).optional(),
    /** Cluster: the startup nodes. */
    cluster: z.array(hostPort).min(1).optional(),
    password: z.string().optional(),
    keyPrefix: z.string().default('tessera:gateway:'),
  }),
]);

/**
 * Token mode: where the token service announces revocations (its Redis channel: one stream per
 * topic, keys under `prefix`), so a revoked token is refused here even while it is cached.
 */
const revocations = z.object({
  url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
  password: z.string().optional(),
  /** The token service's channel prefix (`tessera token-service --redis` uses none). */
  prefix: z.string().default(''),
});

// Who may say where a request came from. `true` would believe X-Forwarded-For from every peer, so
// anyone could pick a fresh address per login guess: it parses, to be refused with a clear reason
// below, and only a list of the proxies is accepted.
const trustedProxies = z
  .union([
    z.boolean(),
    z.array(z.string().refine(isTrustedProxyEntry, 'an IP address or a CIDR block')).max(256),
  ])
  .default(false);

/**
 * DPoP at the token routes (RFC 9449 7): `Authorization: DPoP` with a proof for this gateway's
 * public URL, checked here; the bound token is then exchanged for the upstream, bound to the
 * gateway's own key, and every upstream request carries the gateway's proof.
 */
const tokenDpop = z.object({
  /** Also take unbound tokens under `Bearer` (exchanged and bound behind the edge all the same). Default false. */
  allowBearer: z.boolean().default(false),
  /** Algorithms a proof may be signed with. Default EdDSA and ES256. */
  algorithms: z
    .array(z.enum(['EdDSA', 'ES256', 'RS256']))
    .min(1)
    .optional(),
  /** Seconds a proof's `iat` may lie before or after now (1-600). Default 60. */
  window: z.number().int().min(1).max(600).optional(),
  /**
   * Where each proof's `jti` is remembered for the window: share it between instances (Redis).
   * Default `session.store` when there is one, else memory (a warning: a proof replayed at
   * another instance is not refused).
   */
  store: store.optional(),
});

export const gatewayConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    /** Token mode: the token service and this gateway's audience. */
    token: z
      .object({
        issuer: z.url({ protocol: /^https?$/ }),
        audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
        /** Default: discovered from the issuer's metadata. */
        jwksUri: z.url({ protocol: /^https?$/ }).optional(),
        /** Verified-token cache entries; 0 turns it off. */
        cacheSize: z.number().int().min(0).default(10_000),
        /**
         * This gateway's client at the token service, for routes that exchange tokens; the
         * secret comes from the environment (`TESSERA_GATEWAY_CLIENT_SECRET`).
         */
        clientId: z.string().min(1).optional(),
        /** Unset: revocations are not heard, a revoked token passes until it expires (a warning). */
        revocations: revocations.optional(),
        /** DPoP-bound tokens at the token routes; unset, a bound token is refused as a bearer token. */
        dpop: tokenDpop.optional(),
        /**
         * Certificate-bound tokens behind the edge (RFC 8705 3): every token route exchanges the
         * caller's token at the issuer's `mtls_endpoint_aliases` token endpoint over a connection
         * presenting the `upstreamTls` certificate, so the upstream gets a token bound to it and
         * never the caller's. Default false; not with `dpop` (one holder per token).
         */
        mtls: z.boolean().default(false),
        /**
         * The page at `/` signs users in as this public client of the token service: code + PKCE
         * S256 in the browser, tokens in the page's memory only. Registered there with the
         * redirect URI `<this gateway's origin>/_tessera/callback` and the origin in
         * `allowed_origins`. Unset: the page cannot sign anyone in (bearer tokens only).
         */
        pageClient: z
          .object({
            clientId: z.string().regex(/^[\x21-\x7e]{1,255}$/, '1-255 printable ASCII characters, no spaces'),
            scopes: z
              .array(scopeToken)
              .min(1)
              .refine(
                (list) => list.includes('openid'),
                'must include openid (the page asks /userinfo who you are)',
              ),
          })
          .optional(),
      })
      .refine((t) => !(t.mtls && t.dpop !== undefined), {
        path: ['mtls'],
        message: 'not with token.dpop: a token is bound to one holder',
      })
      .optional(),
    session: z
      .object({
        store: store.prefault({ type: 'memory' }),
        /** Plain http to localhost only (development): no Secure, no __Host- prefix. */
        insecureHttpLocalhost: z.boolean().default(false),
        idleTimeoutSeconds: z.number().int().positive().default(1800),
        absoluteTimeoutSeconds: z.number().int().positive().default(43_200),
        /** Origins an unsafe cookie request may come from; default the gateway's own. */
        allowedOrigins: z.array(z.url()).optional(),
        /**
         * The name this gateway mints session references as: the first in every chain, the caller
         * the services hold its keys under. The keys themselves come from the environment.
         */
        referenceName: z
          .string()
          .regex(/^[A-Za-z0-9._:-]{1,64}$/, "1 to 64 letters, digits, '.', '_', ':' or '-'")
          .default('gateway'),
      })
      .optional(),
    /**
     * Hybrid mode: the gateway is a confidential OpenID Connect client of the token service; the
     * browser holds only the session cookie, the tokens stay in the server-side session. The
     * client secret comes from the environment (`TESSERA_GATEWAY_CLIENT_SECRET`), never this file.
     */
    hybrid: z
      .object({
        issuer: z.url({ protocol: /^https?$/ }),
        clientId: z.string().min(1),
        /** Exactly as registered at the token service, e.g. https://shop.example/auth/callback. */
        redirectUri: z.url({ protocol: /^https?$/ }),
        scopes: z
          .array(scopeToken)
          .min(1)
          .refine((list) => list.includes('openid'), 'must include openid'),
        /** Where the token service sends the browser after a logout; registered at the token service. */
        postLogoutRedirectUri: z.url({ protocol: /^https?$/ }).optional(),
        /** Refresh the access token when it has less than this left. */
        refreshBeforeExpirySeconds: z.number().int().min(0).max(3600).default(60),
        /** How long a sign-in may take between GET /auth/login and the callback. */
        loginTimeoutSeconds: z.number().int().min(30).max(3600).default(600),
        /** Token service calls (code exchange, refresh, revocation, discovery). */
        timeoutMs: z.number().int().positive().default(5_000),
        /** Allow a plain-http issuer that is not loopback (development only: the secret travels in clear). */
        allowInsecureIssuer: z.boolean().default(false),
        /**
         * The session's tokens bound to the gateway's DPoP key (RFC 9449 5): a proof at /token
         * for the code and every refresh, a fresh proof with every upstream request. Default false.
         */
        dpop: z.boolean().default(false),
        /**
         * The session's tokens bound to the gateway's client certificate (RFC 8705 3): the code,
         * every refresh, revocation and exchange go to the issuer's `mtls_endpoint_aliases` over a
         * connection presenting the `upstreamTls` certificate, so the token sent upstream is good
         * only from this gateway's connections. Default false.
         */
        mtls: z.boolean().default(false),
      })
      .refine((h) => !(h.dpop && h.mtls), {
        path: ['mtls'],
        message: 'not with hybrid.dpop: a token is bound to one holder',
      })
      .refine((h) => h.allowInsecureIssuer || h.issuer.startsWith('https:') || isLoopbackUrl(h.issuer), {
        path: ['issuer'],
        message: 'an https URL (plain http only on loopback, or with allowInsecureIssuer)',
      })
      .optional(),
    /** Session-mode login: the user directory the token service uses. */
    identity: z
      .object({
        database: z.string().min(1),
        /**
         * How often users disabled or deleted by another process (`tessera users disable`, the
         * token service) are looked for, to end their sessions here. 0: only this gateway's own.
         * Unset: the user directory's default (5 s).
         */
        deactivationPollMs: z.number().int().min(0).max(3_600_000).optional(),
      })
      .optional(),
    upstreams: z
      .object({
        /** An upstream that sends no response headers within this time gets 504. */
        timeoutMs: z.number().int().positive().default(30_000),
        connectTimeoutMs: z.number().int().positive().default(5_000),
        /** Keep-alive connections per upstream origin. */
        connections: z.number().int().positive().default(128),
        keepAliveTimeoutMs: z.number().int().positive().default(4_000),
      })
      .prefault({}),
    // --- The edge against slow and greedy clients, and what the gateway tells upstreams about itself.
    /** Bounds on the client side of the gateway (each request, each connection, each address). */
    clients: z
      .object({
        /** A request whose headers are not complete within this time: the connection is closed (Node's headersTimeout, checked every second). */
        headersTimeoutMs: z.number().int().positive().default(10_000),
        /** A request body not complete within this time of its headers: 408 `request_timeout`. */
        bodyTimeoutMs: z.number().int().positive().default(30_000),
        /**
         * A connection silent this long, within a request or kept alive between two, is closed;
         * above `upstreams.timeoutMs`, so a slow upstream's answer is still sent, and above a
         * typical load balancer's 60 s.
         */
        idleTimeoutMs: z.number().int().positive().default(72_000),
        /** Requests of one client address in flight through the proxy at once; more: 429 `too_many_requests`. */
        maxInFlightPerAddress: z.number().int().positive().default(64),
      })
      .prefault({}),
    /**
     * The origin clients reach the gateway at (https://shop.example): its host is the
     * `X-Forwarded-Host` upstreams get. Unset: the host of `hybrid.redirectUri` if any, else no
     * `X-Forwarded-Host` at all (never the client's own `Host`).
     */
    publicOrigin: z
      .url({ protocol: /^https?$/ })
      .refine(
        (value) => new URL(value).origin === value.replace(/\/$/, ''),
        'an origin: scheme, host and port only',
      )
      .optional(),
    // --- end of the edge block.
    /** Largest request body accepted (proxied or login). */
    bodyLimit: z.number().int().positive().default(1_048_576),
    /** Believe X-Forwarded-* only from these proxies (IP addresses or CIDR blocks); default none. */
    trustProxy: trustedProxies,
    /** The demo page at `/` (sign in, items, orders, the trace); default on unless a route claims `/`. */
    page: z.boolean().optional(),
    /**
     * A report file the page links to (`tessera compare`'s `latest.html`), served at
     * /_tessera/report in a sandbox of its own; default none.
     */
    pageReport: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // --- observability ---------------------------------------------------------------------
    /**
     * Where `/metrics` is served: `{ listen: { host, port } }` (a listener of its own),
     * `{ bearerToken }` (the public port, 401 without it; best from `TESSERA_GATEWAY__METRICS__BEARER_TOKEN`)
     * or `{ public: true }`. Unset: not served (404).
     */
    metrics: metricsExposureSchema.optional(),
    routes: z.array(route).min(1),
  })
  .superRefine((config, ctx) => {
    if (config.trustProxy === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['trustProxy'],
        message:
          "true would believe X-Forwarded-For from anyone; list the proxies' IP addresses or CIDR blocks",
      });
    }
    const seen = new Map<string, number>();
    config.routes.forEach((r, index) => {
      const previous = seen.get(r.prefix);
      if (previous !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'prefix'],
          message: `duplicate prefix (also routes.${previous}.prefix)`,
        });
      }
      seen.set(r.prefix, index);
      for (const reserved of reservedPrefixes) {
        if (r.prefix === reserved || r.prefix.startsWith(`${reserved}/`)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, 'prefix'],
            message: `${reserved} is answered by the gateway itself`,
          });
        }
      }
      if (r.auth === 'token' && config.token === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['token'],
          message: `required by routes.${index} (auth: token)`,
        });
      }
      if (r.auth === 'session' && config.session === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['session'],
          message: `required by routes.${index} (auth: session)`,
        });
      }
      if (r.auth === 'session' && config.identity === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['identity'],
          message: `required by routes.${index} (auth: session): /auth/login checks the user directory`,
        });
      }
      if (r.auth === 'session' && r.audience === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'audience'],
          message: 'required for auth: session (the session reference names the upstream it is for)',
        });
      }
      if (r.auth === 'hybrid' && config.session === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['session'],
          message: `required by routes.${index} (auth: hybrid): the tokens are kept in the session`,
        });
      }
      if (r.auth === 'hybrid' && config.hybrid === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['hybrid'],
          message: `required by routes.${index} (auth: hybrid): the token service and this gateway's client`,
        });
      }
      if (r.scopes !== undefined && r.auth === 'public') {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'scopes'],
          message: 'a public route has no scopes',
        });
      }
      if (r.exchange !== undefined && r.auth === 'token' && config.token?.clientId === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['token', 'clientId'],
          message: `required by routes.${index} (exchange): the gateway exchanges as this client`,
        });
      }
      if (r.auth === 'token' && config.token?.dpop !== undefined && r.exchange === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'exchange'],
          message:
            'required with token.dpop: a DPoP-bound token is never forwarded as is, it is exchanged for the upstream',
        });
      }
      if (r.auth === 'token' && config.token?.mtls === true && r.exchange === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'exchange'],
          message:
            "required with token.mtls: the caller's token is never forwarded, it is exchanged for one bound to the gateway's certificate",
        });
      }
      if (r.exchange !== undefined && r.auth !== 'token' && r.auth !== 'hybrid') {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'exchange'],
          message: 'only token and hybrid routes exchange tokens',
        });
      }
    });
    if (config.token?.dpop !== undefined && config.publicOrigin === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['publicOrigin'],
        message: "required with token.dpop: a client's proof names the gateway's public URL (htu)",
      });
    }
    if (config.clients.idleTimeoutMs <= config.upstreams.timeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', 'idleTimeoutMs'],
        message: 'must be above upstreams.timeoutMs (a connection waiting for a slow upstream is not idle)',
      });
    }
    if (config.page === true && config.routes.some((r) => r.prefix === '/')) {
      ctx.addIssue({
        code: 'custom',
        path: ['page'],
        message: 'a route claims / where the page is served: set page: false',
      });
    }
    const s = config.session?.store;
    if (s?.type === 'redis') {
      const ways = [s.url, s.sentinels, s.cluster].filter((x) => x !== undefined).length;
      if (ways > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['session', 'store'],
          message: 'give one of url, sentinels, cluster',
        });
      }
      if (s.sentinels !== undefined && s.name === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['session', 'store', 'name'],
          message: 'required with sentinels',
        });
      }
    }
  });

/** Whether the gateway serves its page at `/`: asked for, or by default when no route claims `/`. */
export function servesPage(config: {
  readonly page?: boolean | undefined;
  readonly routes: readonly { readonly prefix: string }[];
}): boolean {
  return config.page ?? !config.routes.some((r) => r.prefix === '/');
}

/** The validated, frozen gateway configuration. */
export type GatewayConfig = DeepReadonly<z.output<typeof gatewayConfigSchema>>;
/** What a config file (or a test) may write; defaults fill the rest. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type RouteConfig = GatewayConfig['routes'][number];
export type StoreConfig = NonNullable<GatewayConfig['session']>['store'];

export interface LoadGatewayConfigOptions {
  readonly file?: string;
  /** The environment, read once by the entry point: `TESSERA_GATEWAY__*` overrides the file. */
  readonly env?: Environment;
  readonly defaults?: Partial<GatewayConfigInput>;
}

function warningsOf(config: GatewayConfig): string[] {
  const warnings: string[] = [];
  if (config.session?.insecureHttpLocalhost === true) {
    warnings.push('session.insecureHttpLocalhost is on: plain-http cookies for localhost (development only)');
  }
  if (config.token !== undefined && config.token.revocations === undefined) {
    warnings.push(
      'token.revocations is not set: a revoked token is let through until it expires (the token service announces revocations on Redis)',
    );
  }
  const dpop = config.token?.dpop;
  if (dpop !== undefined && (dpop.store ?? config.session?.store ?? { type: 'memory' }).type === 'memory') {
    warnings.push(
      'token.dpop: proof ids are remembered in memory: a proof replayed at another gateway instance is not refused (set token.dpop.store)',
    );
  }
  if (config.metrics !== undefined && 'public' in config.metrics) {
    warnings.push('metrics.public: /metrics is served on the public port to anyone who asks');
  }
  if (
    config.session?.store.type === 'memory' &&
    config.routes.some((r) => r.auth === 'session' || r.auth === 'hybrid')
  ) {
    warnings.push('sessions are in memory: they are lost on restart and not shared between instances');
  }
  return warnings;
}

/**
 * Reads and validates a gateway config file (YAML or JSON) with `TESSERA_GATEWAY__*` overrides.
 * Throws a ConfigError with one line per problem; never echoes a value.
 */
export function loadGatewayConfig(options: LoadGatewayConfigOptions): LoadedConfig<GatewayConfig> {
  return loadConfig({
    schema: gatewayConfigSchema,
    ...(options.file === undefined ? {} : { file: options.file }),
    env: options.env ?? {},
    envPrefix: 'TESSERA_GATEWAY',
    ...(options.defaults === undefined ? {} : { defaults: options.defaults }),
    warnings: warningsOf,
  });
}

/** Validates a config given as an object (tests, `tessera dev`) exactly as a file would be. */
export function parseGatewayConfig(input: GatewayConfigInput): GatewayConfig {
  return loadGatewayConfig({ defaults: input }).config;
}
