import type { HttpRequestInfo } from '@tessera/core';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { errorResponse, SessionError } from '../errors.js';
import type { SessionData, SessionManager } from '../manager.js';
import { RequestSession } from '../request.js';

export interface ExpressSessionOptions {
  readonly manager: SessionManager<SessionData>;
  /** Check CSRF on unsafe methods of session-authenticated requests. Default true. */
  readonly csrf?: boolean;
  /** Header carrying the CSRF token. Default `x-csrf-token`. */
  readonly csrfHeader?: string;
  /** Field of `req.body` carrying the CSRF token; mount a body parser first. Default `_csrf`. */
  readonly csrfField?: string;
}

// A WeakMap rather than `req.session`: no global type augmentation that would collide with
// express-session's, and nothing for another middleware to overwrite.
const sessions = new WeakMap<Request, RequestSession<SessionData>>();

/** The session of a request that went through `expressSession()`. */
export function sessionOf(req: Request): RequestSession<SessionData> {
  const session = sessions.get(req);
  if (session === undefined)
    throw new TypeError('expressSession() middleware is not mounted before this route');
  return session;
}

function requestInfo(req: Request): HttpRequestInfo {
  return {
    method: req.method,
    protocol: req.protocol,
    host: req.get('host'),
    cookie: req.get('cookie'),
    origin: req.get('origin'),
    secFetchSite: req.get('sec-fetch-site'),
    userAgent: req.get('user-agent'),
    address: req.ip,
  };
}

function send(res: Response, error: unknown): void {
  const { status, body } = errorResponse(error);
  res.status(status).set('cache-control', 'no-store').json(body);
}

/** Loads the session of every request and checks CSRF on unsafe ones. */
export function expressSession(options: ExpressSessionOptions): RequestHandler {
  const { manager } = options;
  const csrf = options.csrf ?? true;
  const csrfHeader = options.csrfHeader ?? 'x-csrf-token';
  const csrfField = options.csrfField ?? '_csrf';
  return async (req: Request, res: Response, next: NextFunction) => {
    // Mounted twice on one path (a route-level instance and an app-level one): load once.
    let session = sessions.get(req);
    try {
      if (session === undefined) {
        session = new RequestSession(manager, requestInfo(req), (name, value) => {
          res.setHeader(name, value);
        });
        sessions.set(req, session);
        await session.load();
      }
      if (csrf) {
        const body: unknown = req.body;
        const field =
          typeof body === 'object' && body !== null
            ? (body as Record<string, unknown>)[csrfField]
            : undefined;
        session.checkCsrf(req.get(csrfHeader) ?? (typeof field === 'string' ? field : undefined));
      }
    } catch (error) {
      if (error instanceof SessionError) return send(res, error);
      return next(error);
    }
    next();
  };
}

/** Route middleware: 401 `session_required` (503 when the store is down) without a live session. */
export function requireSession(): RequestHandler {
  return (req, res, next) => {
    try {
      sessionOf(req).require();
    } catch (error) {
      if (error instanceof SessionError) return send(res, error);
      return next(error);
    }
    next();
  };
}

/** Error middleware: answers a SessionError as `{ error, error_description }`, passes on the rest. */
export function sessionErrorHandler(): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (!(error instanceof SessionError)) return next(error);
    send(res, error);
  };
}
