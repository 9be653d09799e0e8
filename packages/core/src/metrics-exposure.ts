import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { answerFor, type ErrorAnswer, type JsonErrorBody } from './errors/answer.js';
import { AuthError } from './errors/auth.js';
import { answerClientError, writeAnswerTo } from './errors/handlers.js';
import { HttpError } from './errors/http.js';
import { secretEquals } from './secret-compare.js';

/**
 * Where a part serves its Prometheus `/metrics`. Unset: nowhere (the public port answers 404):
 * the metrics tell whoever asks about clients, routes and error rates, so serving them is a choice.
 */
export type MetricsExposure =
  /** A listener of its own serving only `/metrics` (plain HTTP: give it a private address). */
  | { readonly listen: { readonly host: string; readonly port: number } }
  /** On the public port, to a request with `Authorization: Bearer <token>` only (401 otherwise). */
  | { readonly bearerToken: string }
  /** On the public port to anyone: for a network only the scraper can reach. */
  | { readonly public: true };

/** The one schema of `metrics` in a part's options or config file. */
export const metricsExposureSchema = z.union([
  z.strictObject({
    listen: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(0).max(65535),
    }),
  }),
  z.strictObject({ bearerToken: z.string().min(32, 'at least 32 characters') }),
  z.strictObject({ public: z.literal(true) }),
]);

const bearerHeader = /^Bearer +(\S+)$/i;

/** Whether a `/metrics` request on the public port may be answered, by its Authorization header. */
export function metricsAllowed(exposure: MetricsExposure, authorization: string | undefined): boolean {
  if ('public' in exposure) return true;
  if (!('bearerToken' in exposure)) return false;
  const given = authorization === undefined ? undefined : bearerHeader.exec(authorization)?.[1];
  return given !== undefined && secretEquals(given, exposure.bearerToken);
}

/**
 * The answer to a `/metrics` request on the public port without the configured bearer token:
 * 401 `ERR_METRICS_UNAUTHORIZED` with `WWW-Authenticate: Bearer realm="metrics"`.
 */
export function metricsRefusal(): ErrorAnswer<JsonErrorBody> {
  return answerFor(new AuthError('ERR_METRICS_UNAUTHORIZED'), { scheme: 'Bearer', realm: 'metrics' });
}

/** Whether `/metrics` is answered on the public port at all (else it is 404 there). */
export function metricsOnPublicPort(exposure: MetricsExposure | undefined): boolean {
  return exposure !== undefined && !('listen' in exposure);
}

export interface MetricsListener {
  /** The port it listens on (the one asked for, or the one the OS chose for 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsText {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/**
 * A listener that answers `GET /metrics` with `registry`'s text and 404 to anything else:
 * plain node:http, no framework, nothing else on it.
 */
export async function startMetricsListener(
  listen: { readonly host: string; readonly port: number },
  registry: MetricsText,
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      writeAnswerTo(
        response,
        answerFor(new HttpError('ERR_HTTP_NOT_FOUND', 'only GET /metrics is served here')),
      );
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => writeAnswerTo(response, answerFor(error)),
    );
  });
  server.on('clientError', (error: Error, socket) => answerClientError(error, socket as Socket));
  // A scrape is one small GET: a client slower than this is not a scraper.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.listen(listen.port, listen.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  const { port } = server.address() as AddressInfo;
  return {
    port,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
