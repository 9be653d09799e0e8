import {
  isLoopbackHost,
  isTrustedProxyEntry,
  type MetricsExposure,
  metricsExposureSchema,
  type SigningAlgorithm,
  TesseraTypeError,
} from '@tessera/core';
import type { Channel, KeyValueStore } from '@tessera/storage';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { defaultBodyLimit, defaultBodyTimeoutMs } from './lib/form-body.js';

/** What `createTokenService` takes. Dependencies are passed in; the service owns none of them. */
export interface TokenServiceOptions {
  /** The issuer identifier, exactly as it appears in `iss` (no trailing slash is added or removed). */
  readonly issuer: string;
  /** The SQL database (`createDatabase` of `@tessera/storage/sql`), migrated by `openTokenService`. */
  readonly database: Kysely<unknown>;
  /** Short-lived state: private_key_jwt `jti` replay, rate limits. */
  readonly store: KeyValueStore;
  /** Where revocation events are published (topic `tessera.revocation`). */
  readonly channel: Channel;
  /** At least 32 bytes (a shorter one is accepted only with `dev: true`); keys signing keys and client secrets. */
  readonly secret: string | Uint8Array;
  /** `tessera dev`: allows a short secret and does not warn about short client secrets. */
  readonly dev?: boolean;
  /** Allows an `http://` issuer that is not loopback (development behind a proxy); warns at start. */
  readonly allowInsecureIssuer?: boolean;
  /** Seconds. Default 300. */
  readonly accessTokenLifetime?: number;
  /** Seconds. Default 3600. */
  readonly idTokenLifetime?: number;
  /** Seconds. Default 60. */
  readonly codeLifetime?: number;
  /** Seconds a device code (RFC 8628) waits for the user's answer. Default 600. */
  readonly deviceCodeLifetime?: number;
  /** Seconds a device must wait between polls at first (RFC 8628 `interval`). Default 5. */
  readonly deviceCodeInterval?: number;
  /** Seconds a refresh token may stay unused. Default 14 days. */
  readonly refreshTokenIdleLifetime?: number;
  /** Seconds a refresh family may live at most. Default 30 days. */
  readonly refreshTokenAbsoluteLifetime?: number;
  /** How long a client read from the database is reused, in ms. Default 5000; 0 disables the cache. */
  readonly clientCacheTtlMs?: number;
  /** How often signing keys are re-read from the database (rotation by another process), in ms. Default 30000. */
  readonly keyReloadIntervalMs?: number;
  /**
   * How often expired codes, refresh tokens, grants and revocation entries are deleted, in ms.
   * Default 600000 (10 minutes); 0 never (a job of your own calls `purgeExpiredRecords`).
   */
  readonly purgeIntervalMs?: number;
  /**
   * How often the user directory looks for users disabled or deleted by another process (`tessera
   * users disable`, another instance), whose SSO sessions and grants then end here, in ms.
   * Default 5000; 0: only this instance's own disables (the admin API of a custom host).
   */
  readonly deactivationPollMs?: number;
  /** Largest accepted request body in bytes. Default 64 KiB; larger ones are answered 400. */
  readonly bodyLimit?: number;
  /** How long one back-channel logout POST to a client may take, in ms. Default 5000. */
  readonly backchannelLogoutTimeoutMs?: number;
  /**
   * Waits before each retry of a back-channel logout that met no answer, a 429 or a 5xx, in ms.
   * Default [1000, 5000] (three attempts in all); [] sends once.
   */
  readonly backchannelLogoutRetryDelaysMs?: readonly number[];
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** A pino logger, `true` for a default one, `false` (default) for none. */
  readonly logger?: FastifyBaseLogger | boolean;
  /** Serve HTTPS with this PEM certificate (chain) and private key. */
  readonly tls?: TlsOptions;
  /** Mutual TLS on a listener of its own (RFC 8705 5 `mtls_endpoint_aliases`). */
  readonly mtlsAliases?: MtlsAliasOptions;
  /**
   * The proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For`, `-Proto` and `-Host` are
   * believed: the client's address (login rate limits, logs) is the first one, from the right,
   * that is not one of them. Default none: the headers are ignored and the peer is the client.
   */
  readonly trustProxy?: readonly string[];
  // Slow clients, on the server `app.listen` makes (a host serving `app.routing` from a server of
  // its own sets the last two there), and on every form body.
  /** A form body not complete this long after its headers: 408 `request_timeout`. Default 10000 ms. */
  readonly bodyTimeoutMs?: number;
  /** A request's headers not complete in this time: the connection is closed. Default 10000 ms. */
  readonly headersTimeoutMs?: number;
  /** A connection silent this long, within a request or kept alive between two, is closed. Default 72000 ms (above a typical load balancer's 60 s). */
  readonly idleTimeoutMs?: number;
  // --- Grants and third-party clients (see the README's options table) ---
  /**
   * Seconds: how far ahead of now a private_key_jwt assertion's `exp` may be (plus 5 s of clock
   * skew). Default 3600: authlib's assertions, for one, live an hour.
   */
  readonly clientAssertionMaxLifetime?: number;
  /**
   * Seconds after a rotation during which a confidential client presenting the refresh token it
   * just rotated gets the same successor back instead of a revoked family (concurrent refreshes,
   * as a page loading several protected URLs at once). Default 0: strict. Never for public clients.
   */
  readonly refreshTokenReuseGrace?: number;
  /**
   * The algorithm access tokens are signed with. Default EdDSA; RS256 for verifiers whose JOSE
   * library has no EdDSA (RFC 9068 makes RS256 the one every verifier supports).
   */
  readonly accessTokenAlg?: SigningAlgorithm;
  /** Per audience (`aud` value), the algorithm of its access tokens, over `accessTokenAlg`. */
  readonly accessTokenAlgByAudience?: Readonly<Record<string, SigningAlgorithm>>;
  // --- DPoP (RFC 9449) -----------------------------------------------------------------------
  /** Algorithms a DPoP proof at `/token` may be signed with. Default EdDSA and ES256; RS256 when named. */
  readonly dpopAlgorithms?: readonly SigningAlgorithm[];
  /** Seconds a proof's `iat` may lie before or after now; its `jti` is remembered as long. Default 60. */
  readonly dpopProofWindow?: number;
  /**
   * Server nonces (RFC 9449 8): every `/token` answer carries `DPoP-Nonce`, and a proof without a
   * current one is refused `use_dpop_nonce`. Default false.
   */
  readonly dpopNonce?: boolean;
  // --- observability -------------------------------------------------------------------------
  /**
   * Where `/metrics` is served: `{ listen: { host, port } }` (a listener of its own, opened when
   * the app is ready), `{ bearerToken }` (the public port, 401 without it) or `{ public: true }`.
   * Unset: not served (404).
   */
  readonly metrics?: MetricsExposure;
}

export interface TlsOptions {
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
  /**
   * Mutual TLS (RFC 8705): the PEM trust anchors a `tls_client_auth` client's certificate must
   * chain to. Setting it makes the listener ask every client for a certificate (none is still a
   * valid handshake: clients that authenticate otherwise are unaffected); a self-signed client's
   * certificate need not chain to them.
   */
  readonly clientCa?: string | Uint8Array | undefined;
}

/**
 * RFC 8705 5: a second, HTTPS listener at `origin` that asks for client certificates (trusting
 * `clientCa`, as `TlsOptions.clientCa`), for the endpoints a client authenticates or presents a
 * bound token at, while the issuer's own listener (the browser's) asks for none. Discovery names
 * them in `mtls_endpoint_aliases`; `listenMtlsAliases` opens it.
 */
export interface MtlsAliasOptions {
  /** `https://host:port` the listener is reached at. */
  readonly origin: string;
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
  readonly clientCa: string | Uint8Array;
}

export interface ResolvedOptions {
  readonly issuer: string;
  readonly database: Kysely<unknown>;
  readonly store: KeyValueStore;
  readonly channel: Channel;
  readonly secret: Uint8Array;
  readonly dev: boolean;
  readonly allowInsecureIssuer: boolean;
  readonly accessTokenLifetime: number;
  readonly idTokenLifetime: number;
  readonly codeLifetime: number;
  readonly deviceCodeLifetime: number;
  readonly deviceCodeInterval: number;
  readonly refreshTokenIdleLifetime: number;
  readonly refreshTokenAbsoluteLifetime: number;
  readonly clientCacheTtlMs: number;
  readonly keyReloadIntervalMs: number;
  readonly purgeIntervalMs: number;
  /** Absent: the user directory's default. */
  readonly deactivationPollMs?: number | undefined;
  readonly bodyLimit: number;
  readonly backchannelLogoutTimeoutMs: number;
  readonly backchannelLogoutRetryDelaysMs: readonly number[];
  readonly now: () => number;
  readonly logger: FastifyBaseLogger | boolean;
  readonly tls: TlsOptions | undefined;
  readonly mtlsAliases: MtlsAliasOptions | undefined;
  readonly trustProxy: readonly string[];
  readonly bodyTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly clientAssertionMaxLifetime: number;
  readonly refreshTokenReuseGrace: number;
  readonly accessTokenAlg: SigningAlgorithm;
  readonly accessTokenAlgByAudience: Readonly<Record<string, SigningAlgorithm>>;
  readonly dpopAlgorithms: readonly SigningAlgorithm[];
  readonly dpopProofWindow: number;
  readonly dpopNonce: boolean;
  readonly metrics: MetricsExposure | undefined;
  /** Warnings to log once at start (insecure issuer, short dev secret). */
  readonly warnings: readonly string[];
}

const seconds = (fallback: number) =>
  z
    .number()
    .int()
    .positive()
    .max(10 * 365 * 86_400)
    .default(fallback);

const hasMethods = (...names: string[]) =>
  z.custom<object>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function'),
    { message: `expected an object with ${names.join(', ')}` },
  );

const accessTokenAlgorithm = z.enum(['EdDSA', 'ES256', 'RS256']);

const schema = z.strictObject({
  issuer: z.string().min(1),
  database: hasMethods('selectFrom', 'destroy'),
  store: hasMethods('get', 'set', 'compareAndSet'),
  channel: hasMethods('publish', 'subscribe'),
  secret: z.union([z.string().min(1), z.instanceof(Uint8Array)]),
  dev: z.boolean().default(false),
  allowInsecureIssuer: z.boolean().default(false),
  accessTokenLifetime: seconds(300),
  idTokenLifetime: seconds(3600),
  codeLifetime: seconds(60),
  deviceCodeLifetime: z.number().int().min(60).max(86_400).default(600),
  deviceCodeInterval: z.number().int().min(1).max(60).default(5),
  refreshTokenIdleLifetime: seconds(14 * 86_400),
  refreshTokenAbsoluteLifetime: seconds(30 * 86_400),
  clientCacheTtlMs: z.number().int().min(0).default(5000),
  keyReloadIntervalMs: z.number().int().positive().default(30_000),
  purgeIntervalMs: z.number().int().min(0).max(86_400_000).default(600_000),
  deactivationPollMs: z.number().int().min(0).max(3_600_000).optional(),
  bodyLimit: z.number().int().positive().default(defaultBodyLimit),
  backchannelLogoutTimeoutMs: z.number().int().positive().max(60_000).default(5000),
  backchannelLogoutRetryDelaysMs: z.array(z.number().int().min(0).max(60_000)).max(5).default([1000, 5000]),
  now: z.custom<() => number>((value) => typeof value === 'function').default(() => Date.now),
  logger: z.union([z.boolean(), hasMethods('info', 'warn', 'error', 'child')]).default(false),
  tls: z
    .strictObject({
      cert: z.union([z.string().min(1), z.instanceof(Uint8Array)]),
      key: z.union([z.string().min(1), z.instanceof(Uint8Array)]),
      clientCa: z.union([z.string().min(1), z.instanceof(Uint8Array)]).optional(),
    })
    .optional(),
  mtlsAliases: z
    .strictObject({
      origin: z.string().refine(isHttpsOrigin, 'an https origin: scheme, host and port only'),
      cert: z.union([z.string().min(1), z.instanceof(Uint8Array)]),
      key: z.union([z.string().min(1), z.instanceof(Uint8Array)]),
      clientCa: z.union([z.string().min(1), z.instanceof(Uint8Array)]),
    })
    .optional(),
  trustProxy: z
    .array(z.string().refine(isTrustedProxyEntry, 'an IP address or a CIDR block'))
    .max(256)
    .default([]),
  bodyTimeoutMs: z.number().int().positive().max(600_000).default(defaultBodyTimeoutMs),
  headersTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
  idleTimeoutMs: z.number().int().positive().max(3_600_000).default(72_000),
  // Grants and third-party clients.
  clientAssertionMaxLifetime: z.number().int().positive().max(86_400).default(3600),
  refreshTokenReuseGrace: z.number().int().min(0).max(300).default(0),
  accessTokenAlg: accessTokenAlgorithm.default('EdDSA'),
  accessTokenAlgByAudience: z.record(z.string().min(1), accessTokenAlgorithm).default({}),
  dpopAlgorithms: z.array(accessTokenAlgorithm).min(1).max(3).default(['EdDSA', 'ES256']),
  dpopProofWindow: z.number().int().min(1).max(600).default(60),
  dpopNonce: z.boolean().default(false),
  metrics: metricsExposureSchema.optional(),
});

function invalid(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_TOKEN_SERVICE_OPTIONS', message);
}

function checkIssuer(issuer: string, allowInsecure: boolean, warnings: string[]): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw invalid('issuer must be an absolute https URL');
  }
  // OIDC Discovery 3: the issuer has no query or fragment; RFC 8414 2 likewise.
  if (url.search !== '' || url.hash !== '' || issuer.includes('#') || issuer.includes('?')) {
    throw invalid('issuer must not have a query or a fragment');
  }
  if (url.username !== '' || url.password !== '') throw invalid('issuer must not contain credentials');
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw invalid('issuer must be an https URL');
  if (isLoopbackHost(url.hostname)) return;
  if (!allowInsecure) {
    throw invalid('an http:// issuer must be loopback (set allowInsecureIssuer for development only)');
  }
  warnings.push('INSECURE: the issuer is plain http on a non-loopback host; never run this in production');
}

/** Validates options once, applies defaults, and returns a frozen result; misuse throws a TesseraTypeError. */
export function resolveOptions(options: TokenServiceOptions): ResolvedOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? '' : issue.path.join('.');
    throw invalid(`option ${path || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const value = parsed.data;
  const warnings: string[] = [];
  checkIssuer(value.issuer, value.allowInsecureIssuer, warnings);
  const secret = typeof value.secret === 'string' ? new TextEncoder().encode(value.secret) : value.secret;
  if (secret.byteLength < 32) {
    if (!value.dev) throw invalid('secret must be at least 32 bytes (a shorter one only with dev: true)');
    warnings.push('INSECURE: the service secret is shorter than 32 bytes (dev mode)');
  }
  if (value.metrics !== undefined && 'public' in value.metrics) {
    warnings.push('metrics.public: /metrics is served on the public port to anyone who asks');
  }
  if (value.refreshTokenIdleLifetime > value.refreshTokenAbsoluteLifetime) {
    throw invalid('refreshTokenIdleLifetime must not exceed refreshTokenAbsoluteLifetime');
  }
  return Object.freeze({
    ...value,
    database: options.database,
    store: options.store,
    channel: options.channel,
    now: value.now,
    logger: value.logger as FastifyBaseLogger | boolean,
    tls: value.tls,
    mtlsAliases: value.mtlsAliases,
    trustProxy: Object.freeze([...value.trustProxy]),
    metrics: value.metrics as MetricsExposure | undefined,
    secret: Uint8Array.from(secret),
    accessTokenAlgByAudience: Object.freeze({ ...value.accessTokenAlgByAudience }),
    dpopAlgorithms: Object.freeze([...new Set(value.dpopAlgorithms)]),
    warnings: Object.freeze(warnings),
  });
}

/** Whether a listener of the service asks clients for a certificate (mutual TLS, RFC 8705). */
export function asksForClientCertificates(options: Pick<ResolvedOptions, 'tls' | 'mtlsAliases'>): boolean {
  return options.tls?.clientCa !== undefined || options.mtlsAliases !== undefined;
}

function isHttpsOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}
