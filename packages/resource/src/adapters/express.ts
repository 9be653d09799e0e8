import {
  answerFor,
  type ErrorAnswer,
  type MetricsExposure,
  metricsAnswer,
  metricsOnPublicPort,
  type Principal,
  startMetricsListener,
  TesseraTypeError,
} from '@tessera/core';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { enforce } from '../authorize/decide.js';
import type { Policy } from '../authorize/policy.js';
import type { Authenticated, IdentitySource } from '../identity/types.js';
import { checkMetricsExposure, createServiceMetrics, metricsEndpoint } from '../metrics/service-metrics.js';
import { authenticateAndAuthorize } from './authenticate.js';
import { type RequestReader, RequestView } from './request-view.js';

// Per request, out of the request object's own fields so nothing else reads or logs it.
const authenticated = new WeakMap<Request, Authenticated>();

export interface ExpressResourceOptions {
  readonly source: IdentitySource;
  /** Checked after authentication; 403 insufficient_scope when it refuses. */
  readonly policy?: Policy;
  /**
   * Where `/metrics` is served, as for the Fastify adapter: `{ bearerToken }` or `{ public: true }`
   * answer `GET /metrics` in this middleware (before authentication); `{ listen }` opens a listener
   * of its own, closed by the handler's `close()`. Unset: nowhere, nothing counted.
   */
  readonly metrics?: MetricsExposure;
  /**
   * Told every answer `errorHandler` sends, once sent: the app's log line or metric. By default a
   * 5xx is logged at `error` with its cause on `req.log` when the app has one (pino-http's);
   * a refusal is not logged.
   */
  readonly onErrorAnswer?: (answer: ErrorAnswer, req: Request) => void;
}

/**
 * The middleware; `errorHandler`, the error middleware to mount after the routes it protects,
 * so that whatever they throw is answered as this resource server answers (core's `answerFor`:
 * the JSON body, an RFC 6750 3 challenge in the source's scheme), never in Express's HTML; and
 * `close()` for what it opened (the metrics listener, if any).
 */
export type ExpressResourceHandler = RequestHandler & {
  readonly errorHandler: ErrorRequestHandler;
  close(): Promise<void>;
};

// How the sources read an Express request (see RequestView). Express's `trust proxy` decides
// whether X-Forwarded-Proto and -Host count in `origin`.
const expressReader: RequestReader<Request> = Object.freeze({
  headers: (req: Request) => req.headers,
  rawHeaders: (req: Request) => req.rawHeaders,
  method: (req: Request) => req.method,
  url: (req: Request) => req.originalUrl,
  body: (req: Request): unknown => req.body,
  socket: (req: Request) => req.socket,
  origin: (req: Request) => `${req.protocol}://${req.host}`,
});

function refuse(res: Response, error: unknown, scheme: string, parameters?: string): ErrorAnswer {
  const answer = answerFor(error, { scheme, ...(parameters === undefined ? {} : { parameters }) });
  res.status(answer.status).set(answer.headers).send(JSON.stringify(answer.body));
  return answer;
}

/** What pino-http puts on a request; the default `onErrorAnswer` logs through it when it is there. */
interface LoggedRequest {
  readonly log?: { error?: (fields: object, message: string) => void };
}

function logServerErrors(answer: ErrorAnswer, req: Request): void {
  if (answer.status < 500) return;
  const { error } = answer;
  (req as LoggedRequest).log?.error?.({ err: error.cause ?? error, code: error.code }, 'request failed');
}

/** Authenticates every request it sees (and checks `policy`); mount it before the routes it protects. */
export function expressResource(options: ExpressResourceOptions): ExpressResourceHandler {
  const { source, policy } = options;
  if (typeof source !== 'object' || source === null || typeof source.authenticate !== 'function') {
    throw new TesseraTypeError(
      'ERR_INVALID_OPTION',
      'source must be an identity source (bearer(verifier) or the session source)',
    );
  }
  const metrics =
    options.metrics === undefined ? undefined : createServiceMetrics(checkMetricsExposure(options.metrics));
  const exposure = metrics?.exposure;
  const endpoint = metrics === undefined ? undefined : metricsEndpoint(metrics);
  const listener =
    metrics !== undefined && exposure !== undefined && 'listen' in exposure
      ? startMetricsListener(exposure.listen, metrics.registry)
      : undefined;
  // A failed listen is reported by close(), not left as an unhandled rejection.
  listener?.catch(() => undefined);
  const handler = (req: Request, res: Response, next: NextFunction) => {
    if (metrics !== undefined) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        // The matched route's template (req.route is set once a route matched), never the raw path.
        const route = req.route === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`;
        metrics.observe(req.method, route, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
      });
      if (
        endpoint !== undefined &&
        metricsOnPublicPort(exposure) &&
        req.method === 'GET' &&
        req.path === '/metrics'
      ) {
        metricsAnswer(endpoint, req.headers.authorization).then(
          (answer) => {
            res.status(answer.status).set(answer.headers).send(answer.body);
          },
          (error: unknown) => next(error),
        );
        return;
      }
    }
    if (source.answerHeaders !== undefined) res.set(source.answerHeaders());
    authenticateAndAuthorize(source, policy, new RequestView(req, expressReader)).then(
      (result) => {
        authenticated.set(req, result);
        next();
      },
      (error: unknown) => {
        metrics?.verifyFailed(String((error as { code?: unknown }).code));
        refuse(res, error, source.scheme, source.challenge);
      },
    );
  };
  const onErrorAnswer = options.onErrorAnswer ?? logServerErrors;
  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
    // An answer already under way cannot be replaced: Express's own handler ends the connection.
    if (res.headersSent) {
      next(error);
      return;
    }
    onErrorAnswer(refuse(res, error, source.scheme, source.challenge), req);
  };
  return Object.assign(handler, {
    errorHandler,
    async close() {
      await (await listener)?.close();
    },
  });
}

/** A route-level policy after `expressResource`. */
export function authorize(policy: Policy, scheme = 'Bearer'): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const result = authenticated.get(req);
    try {
      if (result === undefined) {
        throw new TesseraTypeError('ERR_INVALID_USE', 'authorize() needs expressResource() before it');
      }
      enforce(policy, result.principal);
    } catch (error) {
      refuse(res, error, scheme);
      return;
    }
    next();
  };
}

/** The Principal of an authenticated request. */
export function principalOf(req: Request): Principal {
  return authenticationOf(req).principal;
}

/** The Authenticated (principal and credential) of a request, for the service client. */
export function authenticationOf(req: Request): Authenticated {
  const result = authenticated.get(req);
  if (result === undefined) {
    throw new TesseraTypeError('ERR_INVALID_USE', 'the request was not authenticated by expressResource()');
  }
  return result;
}
