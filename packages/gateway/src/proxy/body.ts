import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';

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
  /** Time from the first read to the last byte. */
  readonly timeoutMs: number;
}

/**
 * Makes every proxied body, whatever its type, a `BufferedBody` read within `bounds` before the
 * handler runs. The upstream connection is taken only for a complete body, so a client trickling
 * its body holds a socket of the gateway (until `timeoutMs`: 408 `request_timeout`) and never one
 * of an upstream's pool; a body over `limit` is 413 `payload_too_large` and never reaches it.
 * Both answers close the connection (answer.ts), so the rest of such a body is never read.
 */
export function registerBufferedBodies(scope: FastifyInstance, bounds: BodyBounds): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (request, payload, done) => {
    const declared = request.headers['content-length'];
    const expected = declared === undefined ? undefined : Number(declared);
    if (expected !== undefined && expected > bounds.limit) {
      done(new GatewayError('payload_too_large'), undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: Error | null, body?: BufferedBody) => {
      clearTimeout(timer);
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      done(error, body);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > bounds.limit) finish(new GatewayError('payload_too_large'));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (expected !== undefined && received !== expected) {
        finish(new GatewayError('invalid_request', 'the content length is wrong'));
        return;
      }
      finish(
        null,
        new BufferedBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received)),
      );
    };
    // The client went away mid-body: nobody is left to answer.
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(() => finish(new GatewayError('request_timeout')), bounds.timeoutMs);
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
