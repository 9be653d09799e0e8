import { bodyRefusal, readBody } from '@tessera/core';
import type { FastifyInstance } from 'fastify';

export interface BodyBounds {
  /** Largest body in bytes, counted as it arrives (with or without Content-Length). */
  readonly limit: number;
  /** Time from the end of the headers to the body's last byte. */
  readonly timeoutMs: number;
}

/**
 * Makes every proxied body, whatever its type, a Buffer read within `bounds` before the handler
 * runs, sent on as the bytes they are. The upstream connection is taken only for a complete body, so a client trickling
 * its body holds a socket of the gateway (until `timeoutMs`: 408 `ERR_HTTP_REQUEST_TIMEOUT`) and
 * never one of an upstream's pool; a body over `limit` is 413 `ERR_HTTP_BODY_TOO_LARGE` and never
 * reaches it. Both answers close the connection, so the rest of such a body is never read.
 */
export function registerBufferedBodies(scope: FastifyInstance, bounds: BodyBounds): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (request, payload, done) => {
    const declared = request.headers['content-length'];
    readBody(payload, {
      ...bounds,
      declaredLength: declared === undefined ? undefined : Number(declared),
    }).then(
      (read) => {
        if (read.ok) done(null, read.body);
        else done(bodyRefusal(read.reason), undefined);
      },
      // The client went away mid-body: nobody is left to answer.
      (error: Error) => done(error, undefined),
    );
  });
}
