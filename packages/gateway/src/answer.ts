import {
  type AnswerProtocol,
  answerFor,
  bearerProtocol,
  type ErrorAnswer,
  errorAnswering,
  sendAnswer,
} from '@tessera/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The protocol of a request's answers: a token route is a resource server at the edge (RFC 6750
 * challenges with core's JSON body; RFC 9449 7.1's `DPoP` ones with `token.dpop`), everything else (session and hybrid routes, the auth
 * endpoints, the page, 404s) core's JSON alone.
 */
export function protocolOf(request: FastifyRequest): AnswerProtocol {
  const route = request.gatewayRoute;
  if (route?.protocol !== undefined) return route.protocol;
  return route?.mode === 'token' ? bearerProtocol : 'json';
}

/**
 * Logged by the status it is answered with: a 5xx is the gateway's failure (error), a 4xx the
 * client's (info), whatever raised it (a login refused by the user directory, a bad body).
 */
function logAnswer(answer: ErrorAnswer, request: FastifyRequest): void {
  const { error } = answer;
  if (answer.status >= 500) {
    const cause = (error.cause ?? error) as { name?: unknown; message?: unknown };
    request.log.error({ code: error.code, name: cause.name, message: cause.message }, 'request failed');
  } else {
    request.log.info({ code: error.code, status: answer.status }, 'request refused');
  }
}

/** The gateway's handlers and listener options: every error answered through core's `answerFor`. */
export const gatewayAnswers = errorAnswering<FastifyRequest>({ protocol: protocolOf, onAnswer: logAnswer });

/** Sends the answer for `error` on a request the gateway refuses itself (not logged). */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  return sendAnswer(reply, answerFor(error, protocolOf(reply.request)));
}
