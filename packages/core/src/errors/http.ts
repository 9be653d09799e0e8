import type { ErrorCodeEntry } from './base.js';
import { errorFamily } from './family.js';

/**
 * What every listener answers about the request itself, before any part's own logic: no such
 * route, a body that cannot be read, and the one generic server error. Fastify's own refusals
 * (`FST_ERR_*`, a client error of the HTTP parser) are translated into these (./framework.ts).
 */
export const httpErrorCodes = {
  ERR_HTTP_NOT_FOUND: { status: 404, meaning: 'No route matches the request path.' },
  ERR_HTTP_METHOD_NOT_ALLOWED: {
    status: 405,
    meaning: 'The method is not allowed on this path (the answer lists the allowed ones in `Allow`).',
  },
  ERR_HTTP_REQUEST_INVALID: {
    status: 400,
    meaning:
      'The request is malformed: its URL, a header, a parameter or a field is missing, repeated or wrong.',
  },
  ERR_HTTP_BODY_INVALID: {
    status: 400,
    meaning:
      'The body cannot be read as its content type says (bad JSON, not UTF-8, empty, or not its declared length).',
  },
  ERR_HTTP_BODY_TOO_LARGE: {
    status: 413,
    meaning: 'The body is larger than this listener accepts; the connection is closed.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    meaning: 'The request did not arrive in time; the connection is closed.',
  },
  ERR_HTTP_MEDIA_TYPE_UNSUPPORTED: {
    status: 415,
    meaning: 'The body has a content type this path does not read.',
  },
  ERR_HTTP_URI_TOO_LONG: { status: 414, meaning: 'A path parameter is longer than the router accepts.' },
  ERR_HTTP_HEADERS_TOO_LARGE: {
    status: 431,
    meaning: 'The request headers are larger than the listener accepts; the connection is closed.',
  },
  ERR_INTERNAL: { status: 500, meaning: 'An unexpected error; its detail is only in the log.' },
} as const satisfies Record<string, ErrorCodeEntry>;

export type HttpErrorCode = keyof typeof httpErrorCodes;

// The rest of a refused body is not read: answered, then the connection is closed.
export class HttpError extends errorFamily(httpErrorCodes, {
  headers: {
    ERR_HTTP_BODY_TOO_LARGE: { connection: 'close' },
    ERR_HTTP_REQUEST_TIMEOUT: { connection: 'close' },
    ERR_HTTP_HEADERS_TOO_LARGE: { connection: 'close' },
  },
}) {}

/** The refusal for each reason core's `readBody` gives. */
export function bodyRefusal(reason: 'too_large' | 'timeout' | 'length_mismatch'): HttpError {
  if (reason === 'too_large')
    return new HttpError('ERR_HTTP_BODY_TOO_LARGE', 'the request body is too large');
  if (reason === 'timeout') {
    return new HttpError('ERR_HTTP_REQUEST_TIMEOUT', 'the request body did not arrive in time');
  }
  return new HttpError('ERR_HTTP_BODY_INVALID', 'the body is not as long as its content length says');
}
