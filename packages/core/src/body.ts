import type { Readable } from 'node:stream';

export interface BodyBounds {
  /** Largest body in bytes, counted as it arrives (a declared length is not trusted). */
  readonly limit: number;
  /** Time from the start of the read to the body's last byte. */
  readonly timeoutMs: number;
  /** The length the request declared (Content-Length), if any: a body of another length is refused. */
  readonly declaredLength?: number | undefined;
}

/** A body read whole, or why it was not: the caller answers each in its own wire format. */
export type BodyRead =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: 'too_large' | 'timeout' | 'length_mismatch' };

/**
 * Reads a request body whole within `bounds`, without trusting the client: over `limit` (declared
 * or counted) is `too_large` at once, a body still arriving after `timeoutMs` is `timeout`, so a
 * client trickling bytes holds the reader for a bounded time only. On a refusal the stream is left
 * paused and unread (the caller closes the connection after answering). Rejects only when the
 * stream fails (the client went away mid-body).
 */
export function readBody(stream: Readable, bounds: BodyBounds): Promise<BodyRead> {
  const { limit, timeoutMs, declaredLength } = bounds;
  if (declaredLength !== undefined && declaredLength > limit) {
    return Promise.resolve({ ok: false, reason: 'too_large' });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.pause();
    };
    const refuse = (reason: 'too_large' | 'timeout' | 'length_mismatch') => {
      stop();
      resolve({ ok: false, reason });
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > limit) refuse('too_large');
      else chunks.push(bytes);
    };
    const onEnd = () => {
      if (declaredLength !== undefined && received !== declaredLength) {
        refuse('length_mismatch');
        return;
      }
      stop();
      // A copy: a chunk may be a view of a larger read buffer, which the body must not keep alive.
      resolve({ ok: true, body: Buffer.concat(chunks, received) });
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const timer = setTimeout(() => refuse('timeout'), timeoutMs);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
