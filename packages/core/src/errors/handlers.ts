import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { type AnswerProtocol, answerFor, type ErrorAnswer } from './answer.js';
import { HttpError } from './http.js';

/** What answering needs of a request's logger (pino's has it). */
export interface AnswerLog {
  error(fields: object, message: string): void;
}

/** What answering needs of a request (Fastify's has it). */
export interface AnswerRequest {
  readonly log: AnswerLog;
}

/** What answering needs of a reply (Fastify's has it, whatever its route's generics). */
export interface AnswerReply {
  code(status: number): unknown;
  headers(values: Readonly<Record<string, string>>): unknown;
  send(...payload: unknown[]): unknown;
}

/** Sends `answer` on `reply`: its status, its headers, its body. */
export function sendAnswer<Reply extends AnswerReply>(reply: Reply, answer: ErrorAnswer): Reply {
  reply.code(answer.status);
  reply.headers(answer.headers);
  reply.send(answer.body);
  return reply;
}

/** Sends `answer` on a plain `node:http` response. */
export function writeAnswerTo(response: ServerResponse, answer: ErrorAnswer): void {
  response.writeHead(answer.status, answer.headers).end(JSON.stringify(answer.body));
}

/**
 * Writes `answer` on a connection the HTTP parser gave up on, then ends it: there is no request
 * to answer through, so the status line and headers are written by hand.
 */
export function writeAnswer(socket: Socket, answer: ErrorAnswer): void {
  const body = JSON.stringify(answer.body);
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`,
    ...Object.entries(answer.headers)
      .filter(([name]) => name !== 'connection')
      .map(([name, value]) => `${name}: ${value}`),
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
}

export interface ErrorAnsweringOptions<Request extends AnswerRequest> {
  /** The protocol of every answer, or of each request's (a gateway's token routes answer `bearer`). */
  readonly protocol: AnswerProtocol | ((request: Request) => AnswerProtocol);
  /**
   * Told every answer made for a request, once it is sent: the part's log line and metrics.
   * By default a 5xx is logged at `error` with what caused it; a refusal is not logged.
   */
  readonly onAnswer?: (answer: ErrorAnswer, request: Request) => void;
}

/** Everything a Fastify app needs so that no answer of it is one Fastify made up. */
export interface ErrorAnswering<Request extends AnswerRequest> {
  /** For `app.setErrorHandler`: whatever a route, a hook or a body parser throws. */
  readonly errorHandler: (error: unknown, request: Request, reply: AnswerReply) => void;
  /** For `app.setNotFoundHandler`: `ERR_HTTP_NOT_FOUND`. */
  readonly notFoundHandler: (request: Request, reply: AnswerReply) => void;
  /**
   * To spread into `Fastify({ ... })`: the errors it meets before routing (a URL that is not
   * validly percent-encoded), those the HTTP parser reports (an invalid header, headers too large,
   * a request not complete in time), and no 503 of its own while closing (a request that arrives
   * then is answered, and its connection closed).
   */
  readonly serverOptions: {
    readonly frameworkErrors: (error: unknown, request: Request, reply: AnswerReply) => void;
    readonly clientErrorHandler: (error: Error, socket: Socket) => void;
    readonly return503OnClosing: false;
  };
}

/**
 * A server's `clientError` listener: what the HTTP parser refused (an invalid header, headers too
 * large, a request not complete in time) answered in `protocol`, then the connection destroyed.
 */
export function answerClientError(error: Error, socket: Socket, protocol: AnswerProtocol = 'json'): void {
  // A connection reset has nobody left to answer.
  if ((error as { code?: unknown }).code === 'ECONNRESET' || socket.destroyed) return;
  // As Node itself does: no answer written into one already under way on this connection (a
  // request timing out while its early answer is sent), which would corrupt it.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) writeAnswer(socket, answerFor(error, protocol));
  socket.destroy(error);
}

function logServerErrors(answer: ErrorAnswer, request: AnswerRequest): void {
  if (answer.status < 500) return;
  const { error } = answer;
  request.log.error({ err: error.cause ?? error, code: error.code }, 'request failed');
}

/** The error and not-found handlers and server options of one Fastify app, all answering through `answerFor`. */
export function errorAnswering<Request extends AnswerRequest>(
  options: ErrorAnsweringOptions<Request>,
): ErrorAnswering<Request> {
  const { protocol, onAnswer = logServerErrors } = options;
  const protocolOf = typeof protocol === 'function' ? protocol : () => protocol;
  const errorHandler = (error: unknown, request: Request, reply: AnswerReply): void => {
    const answer = answerFor(error, protocolOf(request));
    sendAnswer(reply, answer);
    onAnswer(answer, request);
  };
  return Object.freeze({
    errorHandler,
    notFoundHandler: (request: Request, reply: AnswerReply) =>
      errorHandler(new HttpError('ERR_HTTP_NOT_FOUND', 'no route matches the request path'), request, reply),
    serverOptions: Object.freeze({
      frameworkErrors: errorHandler,
      // The request's route is unknown, so the listener's protocol if it has one, else JSON.
      clientErrorHandler: (error: Error, socket: Socket) =>
        answerClientError(error, socket, typeof protocol === 'function' ? 'json' : protocol),
      return503OnClosing: false as const,
    }),
  });
}
