import { isTesseraError, type TesseraError } from './base.js';
import { HttpError, type HttpErrorCode } from './http.js';

type Refusal = readonly [HttpErrorCode, string];

// What Fastify refuses before a handler runs, all caused by what the client sent. The message is
// ours: Fastify's own may repeat the URL or a header the client sent.
const fastifyRefusals: Readonly<Record<string, Refusal>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['ERR_HTTP_BODY_TOO_LARGE', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'ERR_HTTP_MEDIA_TYPE_UNSUPPORTED',
    'this path does not read a body of this content type',
  ],
  FST_ERR_CTP_INVALID_TYPE: ['ERR_HTTP_MEDIA_TYPE_UNSUPPORTED', 'the content type is malformed'],
  FST_ERR_CTP_EMPTY_TYPE: ['ERR_HTTP_MEDIA_TYPE_UNSUPPORTED', 'the content type is empty'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'ERR_HTTP_BODY_INVALID',
    'the body is not as long as its content length says',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['ERR_HTTP_BODY_INVALID', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['ERR_HTTP_BODY_INVALID', 'the body is not valid JSON'],
  FST_ERR_BAD_URL: ['ERR_HTTP_REQUEST_INVALID', 'the URL is not validly percent-encoded'],
  FST_ERR_INVALID_URL: ['ERR_HTTP_REQUEST_INVALID', 'the URL is malformed'],
  FST_ERR_MAX_PARAM_LENGTH: ['ERR_HTTP_URI_TOO_LONG', 'a path parameter is too long'],
  FST_ERR_VALIDATION: ['ERR_HTTP_REQUEST_INVALID', 'the request does not match its schema'],
  FST_ERR_ASYNC_CONSTRAINT: ['ERR_HTTP_REQUEST_INVALID', 'no route accepts this request'],
  FST_ERR_NOT_FOUND: ['ERR_HTTP_NOT_FOUND', 'no route matches the request path'],
  // What Node's HTTP parser reports to a server's `clientError` listener.
  HPE_HEADER_OVERFLOW: ['ERR_HTTP_HEADERS_TOO_LARGE', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['ERR_HTTP_REQUEST_TIMEOUT', 'the request did not arrive in time'],
};

// What Express's body parsers (body-parser, raw-body) refuse, by their error's `type`.
const bodyParserRefusals: Readonly<Record<string, Refusal>> = {
  'entity.too.large': ['ERR_HTTP_BODY_TOO_LARGE', 'the request body is too large'],
  'entity.parse.failed': ['ERR_HTTP_BODY_INVALID', 'the body cannot be read as its content type says'],
  'request.size.invalid': ['ERR_HTTP_BODY_INVALID', 'the body is not as long as its content length says'],
  'encoding.unsupported': ['ERR_HTTP_MEDIA_TYPE_UNSUPPORTED', 'the content encoding is not supported'],
  'charset.unsupported': ['ERR_HTTP_MEDIA_TYPE_UNSUPPORTED', 'the charset is not supported'],
};

/**
 * Any value thrown or passed to an error handler, as an error of the hierarchy: ours as they are,
 * a framework's or the HTTP parser's refusal of what the client sent as the `ERR_HTTP_*` code it
 * means, anything else as `ERR_INTERNAL` (500). The value is kept as `cause`, for the log only.
 */
export function toTesseraError(error: unknown): TesseraError {
  if (isTesseraError(error)) return error;
  const { code, statusCode, type } = (typeof error === 'object' && error !== null ? error : {}) as {
    readonly code?: unknown;
    readonly statusCode?: unknown;
    readonly type?: unknown;
  };
  const known =
    typeof code === 'string'
      ? fastifyRefusals[code]
      : typeof type === 'string' && typeof statusCode === 'number' && statusCode < 500
        ? bodyParserRefusals[type]
        : undefined;
  if (known !== undefined) return new HttpError(known[0], known[1], { cause: error });
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return new HttpError('ERR_HTTP_REQUEST_INVALID', 'the request is not valid HTTP', { cause: error });
  }
  // A refusal of what the client sent by a parser or plugin that has no code we know (a 4xx
  // `statusCode`): its message may repeat the input, so only the kind is kept.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new HttpError('ERR_HTTP_REQUEST_INVALID', 'the request is malformed', { cause: error });
  }
  return new HttpError('ERR_INTERNAL', 'internal error', { cause: error });
}
