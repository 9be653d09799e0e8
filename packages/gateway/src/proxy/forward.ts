import type { IncomingHttpHeaders } from 'node:http';
import { endSpan, failSpan, startClientSpan, withTraceHeaders } from '@tessera/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../answer.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { BufferedBody } from './body.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { RouteMatch } from './routes.js';

export interface ForwardOptions {
  readonly timeoutMs: number;
  readonly metrics: GatewayMetrics;
  /** `X-Forwarded-Host`: the configured public host; undefined, none is sent. */
  readonly publicHost: string | undefined;
  /** The gateway's own cookie names, lower case (never set by an upstream). */
  readonly ownCookies: ReadonlySet<string>;
}

function isTimeout(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (
      code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT' ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      e.name === 'TimeoutError'
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Sends the request to the matched upstream with the cleaned headers plus `added`, and streams
 * the answer back. A refused or broken connection is 502 `upstream_unavailable`, no answer in time
 * 504 `upstream_timeout`: JSON with a code, never the underlying error (that goes to the log).
 */
export function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  match: RouteMatch,
  added: Readonly<Record<string, string>>,
  options: ForwardOptions,
): FastifyReply {
  const started = process.hrtime.bigint();
  const prefix = match.route.prefix;
  const rules = { ownCookies: options.ownCookies, authenticated: match.route.config.auth !== 'public' };
  const body = request.body instanceof BufferedBody ? request.body : undefined;
  // The upstream call's span (a no-op without an OpenTelemetry SDK); its traceparent goes upstream.
  const upstreamCall = startClientSpan(`${request.method} ${prefix}`, {
    'http.request.method': request.method,
    'server.address': match.route.origin,
    'tessera.route': prefix,
  });
  return reply.from(`${match.route.origin}${match.upstreamPath}`, {
    timeout: options.timeoutMs,
    rewriteRequestHeaders: (_request, headers) => {
      const out = upstreamRequestHeaders(
        headers as IncomingHttpHeaders,
        { address: request.ip, protocol: request.protocol, host: options.publicHost },
        added,
        // The client's own Connection header: reply-from may already have dropped it from `headers`.
        request.headers.connection,
      );
      // The body as read (a chunked one included); a bodyless request keeps no length it has no body for.
      if (body !== undefined) out['content-length'] = String(body.byteLength);
      else delete out['content-length'];
      return withTraceHeaders(out as Record<string, string>, upstreamCall.context);
    },
    rewriteHeaders: (headers) => downstreamResponseHeaders(headers as IncomingHttpHeaders, rules),
    onResponse: (_request, response, upstream) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      options.metrics.upstreamSeconds.observe(
        { route: prefix, status: String(response.statusCode) },
        seconds,
      );
      endSpan(upstreamCall.span, response.statusCode);
      response.send(upstream.stream);
    },
    onError: (_reply, { error }) => {
      const timeout = isTimeout(error);
      failSpan(upstreamCall.span, error);
      upstreamCall.span.end();
      reply.log.warn(
        { upstream: match.route.origin, code: (error as { code?: unknown }).code },
        'upstream failed',
      );
      sendError(
        reply,
        new GatewayError(timeout ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNAVAILABLE', undefined, {
          expose: true,
        }),
      );
    },
  });
}
