import type { Principal } from '@tessera/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { answerFor } from '../authorize/answer.js';
import { enforce } from '../authorize/decide.js';
import type { Policy } from '../authorize/policy.js';
import type { Authenticated, IdentitySource } from '../identity/types.js';
import { authenticateAndAuthorize } from './authenticate.js';

// Per request, out of the request object's own fields so nothing else reads or logs it.
const authenticated = new WeakMap<Request, Authenticated>();

export interface ExpressResourceOptions {
  readonly source: IdentitySource;
  /** Checked after authentication; 403 insufficient_scope when it refuses. */
  readonly policy?: Policy;
}

function refuse(res: Response, error: unknown, scheme: string): void {
  const answer = answerFor(error, scheme);
  res.status(answer.status).set(answer.headers).set('cache-control', 'no-store').json(answer.body);
}

/** Authenticates every request it sees (and checks `policy`); mount it before the routes it protects. */
export function expressResource(options: ExpressResourceOptions): RequestHandler {
  const { source, policy } = options;
  if (typeof source !== 'object' || source === null || typeof source.authenticate !== 'function') {
    throw new TypeError('source must be an identity source (bearer(verifier) or the session source)');
  }
  return (req: Request, res: Response, next: NextFunction) => {
    authenticateAndAuthorize(source, policy, {
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      method: req.method,
      url: req.originalUrl,
      body: req.body as unknown,
    }).then(
      (result) => {
        authenticated.set(req, result);
        next();
      },
      (error: unknown) => refuse(res, error, source.scheme),
    );
  };
}

/** A route-level policy after `expressResource`. */
export function authorize(policy: Policy, scheme = 'Bearer'): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const result = authenticated.get(req);
    try {
      if (result === undefined) throw new TypeError('authorize() needs expressResource() before it');
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
  const result = authenticated.get(req);
  if (result === undefined) throw new TypeError('the request was not authenticated by expressResource()');
  return result.principal;
}

/** The Authenticated (principal and credential) of a request, for the service client. */
export function authenticationOf(req: Request): Authenticated {
  const result = authenticated.get(req);
  if (result === undefined) throw new TypeError('the request was not authenticated by expressResource()');
  return result;
}
