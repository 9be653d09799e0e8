import { SpanKind } from '@opentelemetry/api';
import {
  type DpopProofSigner,
  inSpan,
  type OutboundMethod,
  type OutboundRequest,
  type OutboundResponse,
  outboundRequest,
  recordStatus,
  requestToken,
  sha256Base64url,
  TesseraTypeError,
  type TokenEndpointOptions,
  withTraceHeaders,
} from '@tessera/core';
import { ResourceError } from '../errors.js';
import { BearerCredential } from '../identity/bearer-credential.js';
import type { Authenticated, Credential } from '../identity/types.js';
import { isUserPrincipal } from '../principal.js';
import { OutgoingTokenCache } from './token-cache.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** A credential that knows how to present itself to another service (the session reference). */
export interface ForwardableCredential extends Credential {
  /** Headers for one call: `route` is `METHOD /path` of the call, bound into a session reference. */
  headersFor(audience: string, route: string): Record<string, string>;
}

function isForwardable(credential: Credential): credential is ForwardableCredential {
  return typeof (credential as Partial<ForwardableCredential>).headersFor === 'function';
}

export interface ServiceClientOptions extends TokenExchangerOptions {
  /**
   * An undici dispatcher (an Agent with TLS options, a pool) for the outgoing calls and the token
   * requests: with a client certificate (`connect: { cert, key, ca }`) every call is mutual TLS,
   * and the tokens of a client registered for certificate-bound tokens are good only over it.
   */
  readonly dispatcher?: OutboundRequest['dispatcher'];
  /** Deadline of one call in ms, the answer's body included. Default 10000. */
  readonly callTimeout?: number;
  /** Largest answer body of one call, in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

export interface ServiceCallInit {
  readonly method?: OutboundMethod;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Redirects are never followed: `refuse` (default) rejects on a 3xx, `return` answers it. */
  readonly redirect?: 'refuse' | 'return';
  /** The called service's audience: the token sent is for it alone. */
  readonly audience: string;
  /** Only the scopes this call needs. */
  readonly scope?: readonly string[];
  /** The incoming request's authentication; absent or null for a background job (own identity). */
  readonly on?: Authenticated | null;
}

/** A bounded call (core's outbound client) that adds the right credential for `audience`. */
export type ServiceFetch = (url: string | URL, init: ServiceCallInit) => Promise<OutboundResponse>;

function misuse(message: string): TesseraTypeError {
  return new TesseraTypeError('ERR_INVALID_OPTION', message);
}

export interface TokenExchangerOptions {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /**
   * `client_secret_basic`. Absent: the client authenticates by the certificate `dispatcher`
   * presents (RFC 8705 2, `tls_client_auth` or `self_signed_tls_client_auth`), naming itself with
   * `client_id` in the form.
   */
  readonly clientSecret?: string;
  /** The undici dispatcher the token requests go through (an Agent with a client certificate). */
  readonly dispatcher?: OutboundRequest['dispatcher'];
  /** Reuse a token until this many seconds before it expires. Default 30. */
  readonly refreshSkew?: number;
  /** Token endpoint deadline in ms. Default 5000. */
  readonly timeout?: number;
  /** Most cached tokens. Default 1000. */
  readonly cacheSize?: number;
  readonly now?: () => number;
  /**
   * This client's DPoP key (RFC 9449): every token request carries a proof by it, so what the
   * client exchanges and its own tokens are bound to it (`cnf.jkt`), and only DPoP answers are
   * taken. Unset: bearer tokens.
   */
  readonly dpop?: DpopProofSigner;
}

/** The tokens a client gets from the token service for calls it makes, cached. */
export interface TokenExchanger {
  /**
   * RFC 8693: `subjectToken` (an access token meant for this client) exchanged for one whose
   * audience is `audience` and whose scope is `scope` (sorted, space-separated; empty for the
   * client's registered scopes). Cached per (token hash, audience, scope) until shortly before
   * expiry; concurrent callers share one request.
   */
  exchange(subjectToken: string, audience: string, scope: string): Promise<string>;
  /** This client's own client_credentials token for `audience` and `scope`, cached the same way. */
  own(audience: string, scope: string): Promise<string>;
}

function checkClient(options: TokenExchangerOptions): void {
  try {
    new URL(options.tokenEndpoint);
  } catch {
    throw misuse('tokenEndpoint must be an absolute URL');
  }
  if (typeof options.clientId !== 'string' || options.clientId.length === 0)
    throw misuse('clientId is required');
  const { clientSecret, dispatcher } = options;
  if (clientSecret !== undefined && (typeof clientSecret !== 'string' || clientSecret.length === 0))
    throw misuse('clientSecret must be a non-empty string');
  if (clientSecret === undefined && dispatcher === undefined)
    throw misuse('clientSecret is required, or a dispatcher presenting the client certificate');
  const { cacheSize } = options;
  if (cacheSize !== undefined && (!Number.isSafeInteger(cacheSize) || cacheSize <= 0))
    throw misuse('cacheSize must be a positive whole number');
  const { dpop } = options;
  if (dpop !== undefined && (typeof dpop?.proof !== 'function' || typeof dpop.jkt !== 'string'))
    throw misuse('dpop must be a DpopProofSigner');
}

/** Every failure of a token request is ERR_UPSTREAM_TOKEN_FAILED (502), the outbound error its cause. */
function upstreamTokenFailed(message: string, cause?: unknown): ResourceError {
  return new ResourceError('ERR_UPSTREAM_TOKEN_FAILED', message, cause === undefined ? {} : { cause });
}

/** A client's exchanges and own tokens at the token service (core's one token-endpoint client). */
export function createTokenExchanger(options: TokenExchangerOptions): TokenExchanger {
  checkClient(options);
  const now = options.now ?? Date.now;
  const endpoint: TokenEndpointOptions = {
    url: options.tokenEndpoint,
    clientId: options.clientId,
    ...(options.clientSecret === undefined ? {} : { clientSecret: options.clientSecret }),
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    timeout: options.timeout ?? 5_000,
    now,
    ...(options.dpop === undefined ? {} : { dpop: { signer: options.dpop, nonce: undefined } }),
    failure: upstreamTokenFailed,
  };
  const cache = new OutgoingTokenCache(options.cacheSize ?? 1_000, (options.refreshSkew ?? 30) * 1000, now);
  return Object.freeze({
    own(audience: string, scope: string): Promise<string> {
      return cache.get(`cc\n${audience}\n${scope}`, () =>
        requestToken(endpoint, {
          grant_type: 'client_credentials',
          audience,
          ...(scope.length > 0 ? { scope } : {}),
        }),
      );
    },
    exchange(subjectToken: string, audience: string, scope: string): Promise<string> {
      return cache.get(`te\n${sha256Base64url(subjectToken)}\n${audience}\n${scope}`, () =>
        requestToken(endpoint, {
          grant_type: TOKEN_EXCHANGE,
          subject_token: subjectToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience,
          ...(scope.length > 0 ? { scope } : {}),
        }),
      );
    },
  });
}

/**
 * Calls another service (core's bounded outbound client) with the credential the call deserves:
 * - a user behind the incoming request: its token exchanged (RFC 8693) for one whose audience is
 *   the target and whose scope is only `scope`, cached per (token hash, audience, scope);
 * - no user (a background job, or a service calling as itself): this service's own
 *   client_credentials token, cached per (audience, scope);
 * - session mode: a new session reference for the target, minted with this service's key for it and
 *   naming the chain the session came through, this service last (the credential's `headersFor`,
 *   built by the session source from this service's keys: the client itself holds none).
 * With `dpop`, both kinds of token are bound to this service's key and every call sends
 * `Authorization: DPoP` with a fresh proof for its method and URL: a token copied from what the
 * callee received is worthless without this service's private key.
 */
export function createServiceClient(options: ServiceClientOptions): ServiceFetch {
  const { dispatcher } = options;
  const timeout = options.callTimeout ?? 10_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isFinite(timeout) || timeout <= 0) throw misuse('callTimeout must be a positive number of ms');
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0)
    throw misuse('maxBodyBytes must be a positive integer');
  const tokens = createTokenExchanger(options);

  const { dpop } = options;
  /** The token under its scheme: with a DPoP key, a fresh proof for this call's method and URL (RFC 9449 7.1). */
  function presenting(token: string, method: string, url: URL): Record<string, string> {
    if (dpop === undefined) return { authorization: `Bearer ${token}` };
    return { ...dpop.requestHeaders({ method, url: url.href, accessToken: token }) };
  }

  async function credentialHeaders(url: URL, init: ServiceCallInit): Promise<Record<string, string>> {
    const scope = [...(init.scope ?? [])].sort().join(' ');
    const method = (init.method ?? 'GET').toUpperCase();
    const on = init.on ?? null;
    if (on !== null && isForwardable(on.credential)) {
      return on.credential.headersFor(init.audience, `${method} ${url.pathname}`);
    }
    if (on !== null && on.credential instanceof BearerCredential && isUserPrincipal(on.principal)) {
      return presenting(await tokens.exchange(on.credential.reveal(), init.audience, scope), method, url);
    }
    return presenting(await tokens.own(init.audience, scope), method, url);
  }

  return async function serviceFetch(url: string | URL, init: ServiceCallInit): Promise<OutboundResponse> {
    if (typeof init?.audience !== 'string' || init.audience.length === 0) {
      throw misuse('every service call names the audience of the service it calls');
    }
    const target = new URL(url);
    const method = init.method ?? 'GET';
    // One client span per call, the credential's token request inside it, its traceparent sent on.
    return inSpan(
      `${method} ${init.audience}`,
      { 'http.request.method': method, 'server.address': target.host, 'tessera.audience': init.audience },
      async (span) => {
        // The credential and the trace context replace whatever the caller set under their names.
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
        Object.assign(
          headers,
          await credentialHeaders(target, init),
          withTraceHeaders<Record<string, string>>({}),
        );
        const response = await outboundRequest(target, {
          method,
          headers,
          ...(init.body === undefined ? {} : { body: init.body }),
          timeout,
          maxBodyBytes,
          redirect: init.redirect ?? 'refuse',
          ...(dispatcher === undefined ? {} : { dispatcher }),
        });
        recordStatus(span, response.status);
        return response;
      },
      SpanKind.CLIENT,
    );
  };
}
