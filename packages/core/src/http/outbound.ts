import { type Dispatcher, request } from 'undici';
import { TesseraTypeError } from '../errors/base.js';
import { OutboundError } from '../errors/outbound.js';

export type OutboundMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One outgoing request: every call is bounded in time and in answer size. */
export interface OutboundRequest {
  readonly method?: OutboundMethod;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Deadline in ms for the whole exchange: connect, send, the answer's headers and its body. */
  readonly timeout: number;
  /** Largest answer body read, in bytes; a larger one (declared or counted) is ERR_OUTBOUND_TOO_LARGE. */
  readonly maxBodyBytes: number;
  /** Only the status and headers matter: the answer's body is dropped unread. */
  readonly discardBody?: boolean;
  /**
   * Redirects are never followed. `refuse` (the default): a 3xx answer is ERR_OUTBOUND_REDIRECT;
   * `return`: it is answered like any other status, for a caller that counts it as a failure.
   */
  readonly redirect?: 'refuse' | 'return';
  /** An undici dispatcher (an Agent with TLS options, a pool); undici's global one otherwise. */
  readonly dispatcher?: Dispatcher;
}

/** An answer read whole within its bounds. */
export interface OutboundResponse {
  readonly status: number;
  /** 2xx. */
  readonly ok: boolean;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The body as UTF-8; ERR_OUTBOUND_INVALID_ANSWER when it is not. */
  text(): string;
  /** The body as JSON; ERR_OUTBOUND_INVALID_ANSWER when it is not. */
  json(): unknown;
}

/** An http(s) URL, or a TesseraTypeError: a caller passing anything else is misconfigured. */
function absoluteUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'an outbound request needs an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TesseraTypeError('ERR_INVALID_OPTION', 'an outbound request needs an http(s) URL');
  }
  return parsed;
}

/** Where a request went, for a message: origin and path, never the query or userinfo. */
export function targetOf(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function responseOf(status: number, headers: Headers, body: Buffer, target: string): OutboundResponse {
  const text = (): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch (error) {
      throw new OutboundError('ERR_OUTBOUND_INVALID_ANSWER', `the answer of ${target} is not UTF-8`, {
        cause: error,
      });
    }
  };
  return Object.freeze({
    status,
    ok: status >= 200 && status < 300,
    headers,
    body,
    text,
    json(): unknown {
      const source = text();
      try {
        return JSON.parse(source) as unknown;
      } catch (error) {
        throw new OutboundError('ERR_OUTBOUND_INVALID_ANSWER', `the answer of ${target} is not JSON`, {
          cause: error,
        });
      }
    },
  });
}

/** Stops reading a body: the connection is closed rather than drained (the rest may be endless). */
function drop(body: Dispatcher.ResponseData['body']): void {
  // Destroying makes undici emit an abort on the body; nobody else listens, so it is swallowed here.
  body.on('error', () => {});
  body.destroy();
}

function headersOf(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/** The error for a failure before a complete answer: the deadline, or no answer at all. */
function failed(signal: AbortSignal, target: string, stage: string, cause: unknown): OutboundError {
  if (signal.aborted) {
    return new OutboundError('ERR_OUTBOUND_TIMEOUT', `${target} did not answer in time (${stage})`, {
      cause,
    });
  }
  return new OutboundError('ERR_OUTBOUND_UNREACHABLE', `${target} could not be reached (${stage})`, {
    cause,
  });
}

/**
 * The one outgoing HTTP client of Tessera, on undici's `request`. It never follows a redirect, its
 * deadline covers the headers and the body, and the body is read only up to its cap (a declared
 * length over the cap is refused before any byte is read), so a slow or hostile peer costs at most
 * `timeout` and `maxBodyBytes`. Every failure is an OutboundError whose message names the target
 * by origin and path only: a query, userinfo, the headers and the body sent may hold secrets.
 */
export async function outboundRequest(
  url: string | URL,
  options: OutboundRequest,
): Promise<OutboundResponse> {
  const target = absoluteUrl(url);
  const where = targetOf(target);
  const signal = AbortSignal.timeout(options.timeout);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(target, {
      method: options.method ?? 'GET',
      headers: { ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
      signal,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
  } catch (error) {
    throw failed(signal, where, 'request', error);
  }
  const status = response.statusCode;
  const headers = headersOf(response.headers);
  if (status >= 300 && status < 400 && (options.redirect ?? 'refuse') === 'refuse') {
    drop(response.body);
    throw new OutboundError(
      'ERR_OUTBOUND_REDIRECT',
      `${where} answered a redirect (${status}), not followed`,
    );
  }
  if (options.discardBody === true) {
    drop(response.body);
    return responseOf(status, headers, Buffer.alloc(0), where);
  }
  const tooLarge = () =>
    new OutboundError(
      'ERR_OUTBOUND_TOO_LARGE',
      `the answer of ${where} is larger than ${options.maxBodyBytes} bytes`,
    );
  const declared = Number(headers.get('content-length') ?? '0');
  if (declared > options.maxBodyBytes) {
    drop(response.body);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      const bytes = chunk as Buffer;
      total += bytes.byteLength;
      if (total > options.maxBodyBytes) {
        drop(response.body);
        throw tooLarge();
      }
      chunks.push(bytes);
    }
  } catch (error) {
    if (error instanceof OutboundError) throw error;
    throw failed(signal, where, 'body', error);
  }
  return responseOf(status, headers, Buffer.concat(chunks, total), where);
}

/**
 * A JSON object from a 200 answer (a metadata document, a JWKS), or an OutboundError:
 * ERR_OUTBOUND_INVALID_ANSWER for another status or a body that is not a JSON object.
 */
export async function fetchJsonObject(
  url: string | URL,
  options: Omit<OutboundRequest, 'method' | 'body' | 'discardBody'>,
): Promise<Record<string, unknown>> {
  const answer = await outboundRequest(url, {
    ...options,
    headers: { accept: 'application/json', ...options.headers },
  });
  const where = targetOf(absoluteUrl(url));
  if (answer.status !== 200) {
    throw new OutboundError('ERR_OUTBOUND_INVALID_ANSWER', `${where} answered ${answer.status}`);
  }
  const parsed = answer.json();
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OutboundError('ERR_OUTBOUND_INVALID_ANSWER', `the answer of ${where} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
