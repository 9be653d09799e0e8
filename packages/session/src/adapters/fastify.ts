import { httpRequestInfo } from '@tessera/core';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import { errorResponse, SessionError } from '../errors.js';
import type { SessionData, SessionManager } from '../manager.js';
import { RequestSession } from '../request.js';

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

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
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

function reject(reply: FastifyReply, error: unknown): FastifyReply {
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
    const session = new RequestSession(manager, httpRequestInfo(request), (name, value) => {
      reply.header(name, value);
    });
    request.session = session;
    await session.load();
  });

  // The checks are attached per route when it is registered, so a route that needs neither
  // (a safe method without `required`) pays nothing, and nothing is decided per request from
  // `request.routeOptions` (which Fastify builds anew on every access). preHandler runs after
  // body parsing, so a form's `_csrf` field is available.
  fastify.addHook('onRoute', (route) => {
    const config = route.config?.session;
    const required = config?.required ?? requireByDefault;
    const csrf = config?.csrf ?? true;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const unsafe = methods.some((method) => !safeMethods.has(method.toUpperCase()));
    if (!required && !(csrf && unsafe)) return;
    const check: preHandlerHookHandler = (request, reply, done) => {
      try {
        if (required) request.session.require();
        if (csrf) request.session.checkCsrf(submittedToken(request, csrfHeader, csrfField));
      } catch (error) {
        if (!(error instanceof SessionError)) return done(error as Error);
        // Answering ends the request; `done` must not be called as well.
        reject(reply, error);
        return;
      }
      done();
    };
    const existing = route.preHandler;
    route.preHandler =
      existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

/**
 * The Fastify plugin: decorates `request.session`, loads it on every request, and enforces each
 * route's `config.session`. Register it before the routes it should protect.
 */
export const fastifySession = fp(plugin, { fastify: '5.x', name: '@tessera/session' });
