import { isTesseraError } from '@tessera/core';
import type { IdentityError } from '@tessera/identity';
import { answerFor } from '@tessera/resource';
import { errorResponse, SessionError } from '@tessera/session';
import type { FastifyReply } from 'fastify';
import { type ErrorBody, GatewayError } from './errors.js';

/**
 * An error of @tessera/identity, told by its family name like any TesseraError from another copy
 * of a package: importing the class would load the user directory (argon2) into every gateway,
 * and only session mode, loaded on demand, raises these.
 */
function isIdentityError(error: unknown): error is IdentityError {
  return isTesseraError(error) && error.name === 'IdentityError';
}

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody & { readonly code?: string };
}

const fastifyClientErrors: Record<string, GatewayError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: new GatewayError('payload_too_large'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new GatewayError('unsupported_media_type'),
  FST_ERR_CTP_EMPTY_JSON_BODY: new GatewayError('invalid_request', 'the body is empty'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new GatewayError('invalid_request', 'the content length is wrong'),
};

// A body refused before its end (or never read: a request over its address's bound): the
// connection closes after the answer, so the rest of the body (possibly endless, possibly
// trickling) is not read, and a client over its bound holds one connection fewer.
const endsConnection: ReadonlySet<string> = new Set([
  'payload_too_large',
  'request_timeout',
  'too_many_requests',
]);
const closeConnection = { connection: 'close' } as const;

/**
 * Every error the gateway answers, as status, headers and a JSON body: the wire forms of the
 * packages that raised it (RFC 6750 for tokens, session and identity codes), and for anything else
 * a bare 500 whose detail goes only to the log. Never a stack, a cause or a credential.
 */
export function answerOf(error: unknown): Answer {
  if (error instanceof SessionError) {
    const { status, body } = errorResponse(error);
    return { status, headers: { 'cache-control': 'no-store' }, body };
  }
  if (isIdentityError(error)) {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (error.code === 'login_rate_limited' && error.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(error.retryAfterSeconds);
    }
    return { status: error.status, headers, body: { error: error.code, error_description: error.message } };
  }
  if (error instanceof GatewayError) {
    return {
      status: error.status,
      headers: endsConnection.has(error.code) ? closeConnection : {},
      body: { error: error.code, error_description: error.message },
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && fastifyClientErrors[code] !== undefined)
    return answerOf(fastifyClientErrors[code]);
  if ((error as { statusCode?: unknown } | null)?.statusCode === 400 && !isTesseraError(error)) {
    // A body Fastify could not parse (bad JSON): its own message names only the syntax problem.
    return answerOf(new GatewayError('invalid_request', 'the body could not be parsed'));
  }
  const answer = answerFor(error);
  return {
    status: answer.status,
    headers: answer.headers,
    body: { ...answer.body, error: answer.body.error ?? 'unauthorized' },
  };
}

/** Sends the answer for `error`. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, headers, body } = answerOf(error);
  return reply.code(status).headers(headers).send(body);
}
