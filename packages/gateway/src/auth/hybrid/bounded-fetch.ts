import {
  OutboundError,
  type OutboundRequest,
  type OutboundResponse,
  outboundRequest,
  TesseraTypeError,
} from '@tessera/core';
import type { CustomFetch, CustomFetchOptions } from 'openid-client';
import { GatewayError } from '../../errors.js';

export interface BoundedFetchOptions {
  /** Each call's whole deadline, headers and body. */
  readonly timeoutMs: number;
  /** The largest answer accepted to a GET (the metadata document) and to a POST (token, revocation). */
  readonly maxBytes: { readonly get: number; readonly post: number };
  /** Looks at a complete answer before openid-client does, and may refuse it by throwing. */
  readonly inspect?: (url: string, status: number, text: string) => void;
  /** Where the connections come from (an Agent presenting the gateway's certificate); undici's global one otherwise. */
  readonly dispatcher?: OutboundRequest['dispatcher'];
}

// Statuses whose Response may not have a body (Fetch standard, "null body status").
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

function bodyText(body: CustomFetchOptions['body']): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  // openid-client sends forms for everything the gateway asks of it.
  throw new TesseraTypeError('ERR_INVALID_OPTION', 'the gateway sends only form bodies to the token service');
}

/**
 * openid-client's requests on the project's one HTTP client (core's `outboundRequest`, on undici):
 * every call bounded in time and size, redirects never followed, and a failure to get a
 * complete answer turned into `token_service_unavailable` carrying no URL, header or body.
 */
export function boundedFetch(options: BoundedFetchOptions): CustomFetch {
  return async (url, init) => {
    const method = init.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST')
      throw new TesseraTypeError('ERR_INVALID_OPTION', `the gateway never sends ${method}`);
    const body = bodyText(init.body);
    let answer: OutboundResponse;
    try {
      answer = await outboundRequest(url, {
        method,
        headers: init.headers,
        ...(body === undefined ? {} : { body }),
        timeout: options.timeoutMs,
        maxBodyBytes: method === 'GET' ? options.maxBytes.get : options.maxBytes.post,
        // A redirect is an answer openid-client judges (and refuses) itself.
        redirect: 'return',
        ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      });
    } catch (error) {
      if (error instanceof OutboundError)
        throw new GatewayError('ERR_TOKEN_SERVICE_UNAVAILABLE', undefined, { cause: error });
      throw error;
    }
    if (answer.status < 200 || answer.status > 599) {
      throw new GatewayError('ERR_TOKEN_SERVICE_UNAVAILABLE', undefined, {
        cause: new Error(`the token service answered ${answer.status}`),
      });
    }
    const text = answer.body.toString('utf8');
    options.inspect?.(url, answer.status, text);
    return new Response(nullBodyStatuses.has(answer.status) ? null : text, {
      status: answer.status,
      headers: answer.headers,
    });
  };
}
