import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errorResponse, SessionError } from '../errors.js';
import type { SessionData, SessionManager } from '../manager.js';
import { type HttpRequestInfo, RequestSession } from '../request.js';

/** Per-route session settings, given as `config: { session: { ... } }` in the route options. */
export interface RouteSessionConfig {
  /** Answer 401 `session_required` (503 when the store is down) without a live session. */
  readonly required?: boolean;
  /** Check CSRF on unsafe methods of session-authenticated requests. Default true. */
  readonly csrf?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's session: `request.session.current`, `.require()`, `.login()`, `.logout()`... */
    session: RequestSession<SessionData>;
  }
  interface FastifyContextConfig {
    session?: RouteSessionConfig;
  }
}

export interface FastifySessionOptions {
  readonly manager: SessionManager<SessionData>;
  /** Whether routes without `config.session.required` need a session. Default false. */
  readonly requireByDefault?: boolean;
  /** Header carrying the CSRF token. Default `x-csrf-token`. */
  readonly csrfHeader?: string;
  /** Field of a parsed body carrying the CSRF token (forms). Default `_csrf`. */
  readonly csrfField?: string;
  /**
   * Install `sessionErrorHandler` as the error handler, so a SessionError thrown by a handler is
   * answered `{ error, error_description }`. Default true; set false when the application has its
   * own handler (and call `sessionErrorHandler` from it).
   */
  readonly errorHandler?: boolean;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function requestInfo(request: FastifyRequest): HttpRequestInfo {
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

function submittedToken(request: FastifyRequest, headerName: string, field: string): string | undefined {
  const fromHeader = header(request, headerName);
  if (fromHeader !== undefined) return fromHeader;
  const body = request.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

async function reject(reply: FastifyReply, error: unknown): Promise<FastifyReply> {
  const { status, body } = errorResponse(error);
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

/**
 * Answers a SessionError as `{ error, error_description }` with its status; hands every other
 * error on to Fastify's default handler.
 */
export async function sessionErrorHandler(
  error: FastifyError | Error,
  _request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (!(error instanceof SessionError)) throw error;
  return reject(reply, error);
}

async function plugin(fastify: FastifyInstance, options: FastifySessionOptions): Promise<void> {
  const { manager } = options;
  const requireByDefault = options.requireByDefault ?? false;
  const csrfHeader = (options.csrfHeader ?? 'x-csrf-token').toLowerCase();
  const csrfField = options.csrfField ?? '_csrf';

  fastify.decorateRequest('session', null as unknown as RequestSession<SessionData>);
  if (options.errorHandler ?? true) fastify.setErrorHandler(sessionErrorHandler);

  fastify.addHook('onRequest', async (request, reply) => {
    const session = new RequestSession(manager, requestInfo(request), (name, value) => {
      reply.header(name, value);
    });
    request.session = session;
    await session.load();
  });

  // preHandler runs after body parsing, so a form's `_csrf` field is available.
  fastify.addHook('preHandler', async (request, reply) => {
    const config = request.routeOptions.config.session;
    try {
      if (config?.required ?? requireByDefault) request.session.require();
      if (config?.csrf ?? true) request.session.checkCsrf(submittedToken(request, csrfHeader, csrfField));
    } catch (error) {
      if (!(error instanceof SessionError)) throw error;
      return reject(reply, error);
    }
    return undefined;
  });
}

/** The Fastify plugin: decorates `request.session`, loads it on every request, enforces route config. */
export const fastifySession = fp(plugin, { fastify: '5.x', name: '@tessera/session' });
