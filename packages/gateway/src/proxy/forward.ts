import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { endSpan, failSpan, startClientSpan, withTraceHeaders } from '@tessera/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { sendError } from '../answer.js';
import { GatewayError } from '../errors.js';
import type { RequestFacts } from '../listener.js';
import {
  downstreamResponseHeaders,
  type ResponseRules,
  upstreamRequestHeaders,
  withOwnHeaders,
} from './headers.js';
import type { RouteMatch } from './routes.js';
import type { UpstreamPools } from './upstream-pools.js';

/** The upstream call's span (OpenTelemetry's, through core). */
type Span = ReturnType<typeof startClientSpan>['span'];

export interface ForwardOptions {
  readonly pools: UpstreamPools;
  /** No response headers, or a gap in the body, this long: 504 (or, once answering, the connection cut). */
  readonly timeoutMs: number;
  /** `X-Forwarded-Host`: the configured public host; undefined, none is sent. */
  readonly publicHost: string | undefined;
}

/** What every request of one route shares, made once at start. */
export interface RoutePlan {
  /** The route, mode and meter of the access log and the metrics. */
  readonly facts: RequestFacts;
  /** How its answers' headers are cleaned. */
  readonly responseRules: ResponseRules;
}

const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The client went away: what the upstream call is aborted with (answered to nobody). */
class ClientGone extends Error {
  override readonly name = 'ClientGone';
}

/**
 * One request's exchange with its upstream, as undici's dispatch handler: the answer's status and
 * headers (cleaned, `./headers.ts`) written to the client when they arrive, the body streamed on
 * chunk by chunk with backpressure (a client reading slowly pauses the upstream's socket), the
 * upstream call aborted when the client goes away. A failure before anything was written is
 * answered 502 `ERR_UPSTREAM_UNAVAILABLE` or 504 `ERR_UPSTREAM_TIMEOUT` as JSON, never the
 * underlying error (that goes to the log); one after is a cut connection, as the status line has
 * gone out already.
 */
class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;
  readonly #response: ServerResponse;
  readonly #match: RouteMatch;
  readonly #plan: RoutePlan;
  readonly #span: Span;
  /** performance.now(): no BigInt made and converted per request, as process.hrtime.bigint() would. */
  readonly #started = performance.now();
  #controller: Dispatcher.DispatchController | undefined;
  /** The status line has been written to the client. */
  #answering = false;
  #done = false;

  constructor(request: FastifyRequest, reply: FastifyReply, match: RouteMatch, plan: RoutePlan, span: Span) {
    this.#request = request;
    this.#reply = reply;
    this.#response = reply.raw;
    this.#match = match;
    this.#plan = plan;
    this.#span = span;
    // `on`, not `once`: a response closes once, and `once` wraps its listener anew per request.
    this.#response.on('close', this.#onClientClose);
  }

  readonly #onClientClose = (): void => {
    // Closed after its answer was sent: nothing is left to stop.
    if (this.#done) return;
    this.#controller?.abort(new ClientGone('the client closed the connection'));
  };

  /** Waiting for the client's socket to drain (one listener, however many chunks arrive meanwhile). */
  #draining = false;

  readonly #resume = (): void => {
    this.#draining = false;
    this.#controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Queued for a connection while the client left.
    if (this.#response.destroyed) controller.abort(new ClientGone('the client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // An interim answer (103 Early Hints) is not passed on; the final one follows.
    if (statusCode < 200) return;
    this.#plan.facts.meter.upstream(statusCode, (performance.now() - this.#started) / 1e3);
    // What the gateway set on this reply (a session's renewed cookie) goes out with the upstream's.
    const out = withOwnHeaders(
      this.#reply.getHeaders(),
      downstreamResponseHeaders(headers, this.#plan.responseRules),
    );
    // A request body the gateway did not read (a GET's) is still on the connection: it cannot be reused.
    if (!this.#request.raw.complete) out.connection = 'close';
    try {
      this.#response.writeHead(statusCode, out);
    } catch (error) {
      // A status or header Node will not write (a status over 599 from the upstream).
      controller.abort(error as Error);
      return;
    }
    this.#answering = true;
    endSpan(this.#span, statusCode);
    this.#reply.hijack();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#response.write(chunk) || this.#draining) return;
    // The client reads slower than the upstream sends: the upstream's socket waits for it. (undici
    // may still hand over the rest of a chunk it has read; those parts queue behind this one.)
    controller.pause();
    this.#draining = true;
    this.#response.once('drain', this.#resume);
  }

  onResponseEnd(): void {
    this.#done = true;
    this.#response.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#done = true;
    if (!this.#answering) {
      failSpan(this.#span, error);
      this.#span.end();
    }
    if (error instanceof ClientGone) return;
    const code = (error as { code?: unknown }).code;
    this.#reply.log.warn({ upstream: this.#match.route.origin, code }, 'upstream failed');
    if (this.#answering || this.#response.destroyed) {
      // The status line went out already: the client sees the answer cut short, as from nginx.
      this.#response.destroy();
      return;
    }
    const timeout = typeof code === 'string' && timeoutCodes.has(code);
    sendError(
      this.#reply,
      new GatewayError(timeout ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNAVAILABLE', undefined, {
        expose: true,
      }),
    );
  }
}

/**
 * Sends the request to the matched upstream's pool with the cleaned headers plus `added` and the
 * body as read at the edge (`./body.ts`), and streams the answer back (`UpstreamExchange`).
 * Nothing is retried: a request the upstream may have acted on is never sent twice.
 */
export function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  match: RouteMatch,
  plan: RoutePlan,
  added: Readonly<Record<string, string>>,
  options: ForwardOptions,
): void {
  const { route } = match;
  const body = Buffer.isBuffer(request.body) ? request.body : undefined;
  // The upstream call's span (a no-op without an OpenTelemetry SDK); its traceparent goes upstream.
  const upstreamCall = startClientSpan(`${request.method} ${route.prefix}`, {
    'http.request.method': request.method,
    'server.address': route.origin,
    'tessera.route': route.prefix,
  });
  const headers = upstreamRequestHeaders(
    request.headers,
    { address: request.ip, protocol: request.protocol, host: options.publicHost },
    added,
  );
  headers.host = route.host;
  // The body as read (a chunked one included); a bodyless request keeps no length it has no body for.
  if (body !== undefined) headers['content-length'] = String(body.length);
  else delete headers['content-length'];
  options.pools.of(route.origin).dispatch(
    {
      path: match.upstreamPath,
      method: request.method as Dispatcher.HttpMethod,
      headers: withTraceHeaders(headers as Record<string, string>, upstreamCall.context),
      body: body ?? null,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    },
    new UpstreamExchange(request, reply, match, plan, upstreamCall.span),
  );
}
