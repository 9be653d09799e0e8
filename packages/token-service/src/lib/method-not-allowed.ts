import { HttpError } from '@tessera/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { ServiceContext } from '../context.js';

const ALL: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Answers every method but `allowed` on `url` with 405 and an `Allow` header (RFC 9110 15.5.6). */
export function methodNotAllowed(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  // HEAD follows GET automatically in Fastify, so it is never registered twice.
  const others = ALL.filter(
    (method) => !allowed.includes(method) && !(method === 'HEAD' && allowed.includes('GET')),
  );
  const allow = allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD'] : [...allowed];
  app.route({
    method: others,
    url,
    handler: async () => {
      throw new HttpError('ERR_HTTP_METHOD_NOT_ALLOWED', `use ${allowed.join(' or ')}`, {
        headers: { allow: allow.join(', ') },
      });
    },
  });
}

/** What answers a POST endpoint: its reply, or the body to send. */
export type PostHandler = (
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
) => Promise<unknown>;

/** A POST-only endpoint: `handle` answers POST, every other method is 405 with `Allow: POST`. */
export function postEndpoint(
  app: FastifyInstance,
  ctx: ServiceContext,
  url: string,
  handle: PostHandler,
): void {
  app.post(url, (request, reply) => handle(ctx, request, reply));
  methodNotAllowed(app, url, ['POST']);
}
