import table from './codes.json' with { type: 'json' };
import { type ErrorCodes, errorFamily } from './family.js';

/**
 * What every listener answers about the request itself, before any part's own logic: no such
 * route, a body that cannot be read, and the one generic server error. Fastify's own refusals
 * (`FST_ERR_*`, a client error of the HTTP parser) are translated into these (./framework.ts).
 */
export const httpErrorCodes: ErrorCodes<keyof typeof table.http> = table.http;

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
