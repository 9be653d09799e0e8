import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificateSource, Principal, ReadinessCheck } from '@tessera/core';

/** What an identity source reads of a request; Fastify's and Express's requests both fit. */
export interface RequestLike {
  readonly headers: IncomingHttpHeaders;
  /** The method, for a session reference bound to one route. */
  readonly method?: string;
  /** Node's raw header list: the only place a duplicated Authorization header is visible. */
  readonly rawHeaders?: readonly string[];
  /** The request target (path and query). */
  readonly url?: string;
  /** A parsed body, if a parser ran. */
  readonly body?: unknown;
  /**
   * `scheme://host[:port]` the request came to, as the framework reports it (its trust-proxy
   * rules decide whether forwarded headers count): the origin of a DPoP proof's `htu`.
   */
  readonly origin?: string;
  /**
   * The connection the request came on (Node's socket; a `TLSSocket` on HTTPS): where a
   * certificate-bound token's client certificate is read (RFC 8705 3). Only that socket's own
   * handshake counts; no header can stand for it.
   */
  readonly socket?: PeerCertificateSource;
}

/**
 * What the caller presented, kept so it can be passed on (token exchange, a session reference for
 * the next service). Never serialised: its JSON and inspect forms show only the kind.
 */
export interface Credential {
  readonly kind: 'bearer' | 'session';
}

/** The outcome of authenticating one request. */
export interface Authenticated {
  readonly principal: Principal;
  readonly credential: Credential;
}

/** Turns a request into an Authenticated, or throws an error with a stable code. */
export interface IdentitySource {
  /** The auth-scheme named in `WWW-Authenticate` when the source refuses a request. */
  readonly scheme: string;
  /** Auth-params every challenge of this source carries (DPoP's `algs="EdDSA ES256"`). */
  readonly challenge?: string;
  authenticate(request: RequestLike): Promise<Authenticated>;
  /**
   * Optional fast path: the result when it needs no I/O, undefined when `authenticate` must be
   * awaited; throws as `authenticate` would. Adapters try it first to skip a promise per request.
   */
  authenticateNow?(request: RequestLike): Authenticated | undefined;
  /**
   * Headers the adapters put on every answer to a request this source authenticates, refused or
   * not, read once per request: the DPoP source's `DPoP-Nonce` when it hands out server nonces
   * (RFC 9449 9), so a client learns the next nonce from the answer it already gets.
   */
  answerHeaders?(): Readonly<Record<string, string>>;
  /**
   * What this source needs to answer requests, by name, for a service's `/readyz` (core's
   * `checkReadiness`): the session store for the session source, usable signing keys for bearer.
   */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
}
