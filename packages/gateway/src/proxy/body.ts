import { Readable } from 'node:stream';
import { bodyRefusal, readBody } from '@tessera/core';
import type { FastifyInstance } from 'fastify';

/**
 * A proxied request body read whole before the upstream is called: a Readable, so reply-from
 * streams it upstream as the bytes they are (it would re-encode a Buffer it thinks is JSON).
 */
export class BufferedBody extends Readable {
  readonly byteLength: number;

  constructor(data: Buffer) {
    super();
    this.byteLength = data.length;
    this.push(data);
    this.push(null);
  }

  override _read(): void {
    // Everything was pushed at construction.
  }
}

export interface BodyBounds {
  /** Largest body in bytes, counted as it arrives (with or without Content-Length). */
  readonly limit: number;
  /** Time from the end of the headers to the body's last byte. */
  readonly timeoutMs: number;
}

/**
 * Makes every proxied body, whatever its type, a `BufferedBody` read within `bounds` before the
 * handler runs. The upstream connection is taken only for a complete body, so a client trickling
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
        if (read.ok) done(null, new BufferedBody(read.body));
        else done(bodyRefusal(read.reason), undefined);
      },
      // The client went away mid-body: nobody is left to answer.
      (error: Error) => done(error, undefined),
    );
  });
}
