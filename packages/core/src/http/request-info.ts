import type { IncomingHttpHeaders } from 'node:http';

/** What a session or a sign-in needs to know of an HTTP request; each adapter fills it from its framework. */
export interface HttpRequestInfo {
  readonly method: string;
  /** The scheme the client used (after the framework's trusted-proxy handling). */
  readonly protocol: string;
  /** The Host header (with port), as the client sent it. */
  readonly host: string | undefined;
  readonly cookie: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly userAgent: string | undefined;
  readonly address: string | undefined;
}

/** The parts of a Node framework's request (Fastify's, for one) that `httpRequestInfo` reads. */
export interface NodeRequestLike {
  readonly method: string;
  /** The scheme, after the framework's trusted-proxy handling. */
  readonly protocol: string;
  readonly headers: IncomingHttpHeaders;
  /** The client address, after the framework's trusted-proxy handling. */
  readonly ip?: string | undefined;
}

function header(request: NodeRequestLike, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The HttpRequestInfo of a Node framework's request; a header sent as a list counts as absent. */
export function httpRequestInfo(request: NodeRequestLike): HttpRequestInfo {
  return {
    method: request.method,
    protocol: request.protocol,
    host: header(request, 'host'),
    cookie: header(request, 'cookie'),
    origin: header(request, 'origin'),
    secFetchSite: header(request, 'sec-fetch-site'),
    userAgent: header(request, 'user-agent'),
    address: request.ip,
  };
}
